"""Verdicts per metric: what each bound tests, the split of alpha over the bounds, no data,
custom metrics' fixed threshold."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from switchboard.api.bot import Analysis, AnalysisMetric
from switchboard.api.status import AnalysisResult
from switchboard.rollout.analysis import (
    ALPHA,
    CUSTOM_FAILURE_LIMIT,
    Bound,
    Measurement,
    Proportions,
    Values,
    analyze,
    bounds,
    lacks_data,
    measurement,
)
from switchboard.rollout.sequential import Counts, difference_log_e

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EQUAL = Proportions(Counts(7000, 10000), Counts(14000, 20000))
WORSE = Proportions(Counts(6000, 10000), Counts(14000, 20000))


def _analysis(*metrics: dict[str, Any]) -> Analysis:
    return Analysis.model_validate({"metrics": list(metrics)})


def _one(metric: dict[str, Any], observed: Proportions | Values | None) -> AnalysisResult:
    observations = {} if observed is None else {metric["name"]: observed}
    (result,) = analyze(_analysis(metric), observations, [], NOW)
    return result


CONTAINMENT = {"name": "containment-rate", "minRelative": -0.05}


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ({"name": "containment-rate", "min": 0.5}, Measurement("outcomes", outcome="contained")),
        ({"name": "escalation-rate", "max": 0.5}, Measurement("outcomes", outcome="escalated")),
        ({"name": "error-rate", "max": 0.05}, Measurement("outcomes", outcome="failed")),
        ({"name": "service-level", "min": 0.8}, Measurement("service-level")),
        ({"name": "latency-p95", "maxSeconds": 0.8}, Measurement("slow-turns", seconds=0.8)),
        (
            {"name": "error-rate", "max": 0.05, "query": "q"},
            Measurement("query", query="q"),
        ),
    ],
)
def test_each_metric_says_what_to_measure(metric: dict[str, Any], expected: Measurement) -> None:
    assert measurement(AnalysisMetric.model_validate(metric)) == expected


def test_a_negative_margin_is_also_the_tolerance_of_the_pass() -> None:
    (bound,) = bounds(AnalysisMetric.model_validate(CONTAINMENT))
    assert (bound.keep, bound.relative, bound.tolerance) == ("above", True, 0.05)
    assert bound.pass_limit == pytest.approx(-0.10)
    (excess,) = bounds(AnalysisMetric.model_validate({"name": "error-rate", "maxRelative": 0.02}))
    assert (excess.keep, excess.tolerance, excess.pass_limit) == ("below", 0.02, 0.04)


def test_an_absolute_bound_or_a_demanding_margin_has_no_tolerance() -> None:
    floor = Bound("min", 0.6, "above", relative=False)
    better = Bound("minRelative", 0.01, "above", relative=True)
    assert floor.tolerance == better.tolerance == 0
    assert floor.pass_limit == 0.6 and better.pass_limit == 0.01


def test_the_pass_limit_stays_where_a_difference_can_lie() -> None:
    assert Bound("minRelative", -0.6, "above", relative=True).pass_limit == -1.0


def test_latency_p95_is_a_five_percent_bound_on_slow_turns() -> None:
    (bound,) = bounds(AnalysisMetric.model_validate({"name": "latency-p95", "maxSeconds": 0.8}))
    assert (bound.limit, bound.keep, bound.relative) == (0.05, "below", False)


def test_a_clear_regression_fails_and_says_why_with_the_numbers() -> None:
    result = _one(CONTAINMENT, WORSE)
    assert result.verdict == "Fail"
    assert (result.canary, result.stable) == (0.6, 0.7)
    assert (result.canary_count, result.stable_count) == (10000, 20000)
    assert result.message is not None
    for shown in ("0.600 of 10000", "0.700 of 20000", "-0.100", "minRelative -0.05"):
        assert shown in result.message
    assert result.time == NOW


def test_an_equal_model_with_plenty_of_data_passes() -> None:
    result = _one(CONTAINMENT, EQUAL)
    assert result.verdict == "Pass"
    assert result.message is not None and "-0.1 is ruled out" in result.message


def test_little_data_is_inconclusive_not_a_failure() -> None:
    result = _one(CONTAINMENT, Proportions(Counts(1, 5), Counts(70, 100)))
    assert result.verdict == "Inconclusive"
    assert not lacks_data(result)


@pytest.mark.parametrize(
    "observed",
    [
        None,
        Proportions(None, None),
        Proportions(Counts(0, 0), Counts(700, 1000)),
        Proportions(Counts(60, 100), None),
        Proportions(Counts(60, 100), Counts(0, 0)),
    ],
)
def test_no_data_is_inconclusive_never_a_failure(observed: Proportions | None) -> None:
    result = _one(CONTAINMENT, observed)
    assert result.verdict == "Inconclusive"
    assert lacks_data(result)
    assert result.message is not None and result.message.startswith("no data")


def test_a_bound_on_the_canary_alone_needs_no_stable_data() -> None:
    metric = {"name": "error-rate", "max": 0.05}
    assert _one(metric, Proportions(Counts(200, 10000), None)).verdict == "Pass"
    assert _one(metric, Proportions(Counts(1000, 10000), None)).verdict == "Fail"


def test_latency_fails_when_more_than_five_percent_of_turns_are_slow() -> None:
    metric = {"name": "latency-p95", "maxSeconds": 0.8}
    assert _one(metric, Proportions(Counts(1000, 10000), None)).verdict == "Fail"
    assert _one(metric, Proportions(Counts(100, 10000), None)).verdict == "Pass"


def test_a_metric_fails_on_any_bound_and_passes_on_all() -> None:
    both = {"name": "containment-rate", "minRelative": -0.05, "min": 0.65}
    # Within the margin of stable, but below the floor.
    assert _one(both, WORSE).verdict == "Fail"
    assert _one(both, EQUAL).verdict == "Pass"
    # The floor is met, the margin is not decided yet.
    undecided = Proportions(Counts(140, 200), Counts(700, 1000))
    assert _one(both, undecided).verdict == "Inconclusive"


def _between_one_and_two_hundred() -> Proportions:
    """Counts whose evidence of a regression beyond -0.05 lies between 1/alpha and 2/alpha."""
    stable = Counts(7000, 10000)
    for events in range(3500, 2500, -1):
        canary = Counts(events, 5000)
        log_e = difference_log_e(canary, stable, -0.05, 0.05, "below")
        if math.log(1 / ALPHA) < log_e < math.log(2 / ALPHA):
            return Proportions(canary, stable)
    raise AssertionError("no such counts")


def test_alpha_is_split_over_the_bounds_of_all_metrics() -> None:
    observed = _between_one_and_two_hundred()
    alone = analyze(_analysis(CONTAINMENT), {"containment-rate": observed}, [], NOW)
    with_another = analyze(
        _analysis(CONTAINMENT, {"name": "error-rate", "max": 0.5}),
        {"containment-rate": observed},
        [],
        NOW,
    )
    assert alone[0].verdict == "Fail"
    assert with_another[0].verdict == "Inconclusive"


# --- custom metrics --------------------------------------------------------------------------

CSAT = {"name": "csat", "query": 'avg(csat{model_version="$version"})', "min": 4.0}


def _run_custom(metric: dict[str, Any], values: list[Values]) -> list[AnalysisResult]:
    results: list[AnalysisResult] = []
    for observed in values:
        (result,) = analyze(_analysis(metric), {metric["name"]: observed}, results[-1:], NOW)
        results.append(result)
    return results


def test_a_custom_metric_fails_after_consecutive_intervals_out_of_bounds() -> None:
    low = Values(3.5, 4.2)
    results = _run_custom(CSAT, [low] * CUSTOM_FAILURE_LIMIT)
    assert [r.verdict for r in results] == ["Inconclusive"] * (CUSTOM_FAILURE_LIMIT - 1) + ["Fail"]
    assert [r.failed_intervals for r in results] == list(range(1, CUSTOM_FAILURE_LIMIT + 1))


def test_a_custom_metric_back_in_bounds_passes_and_starts_counting_again() -> None:
    low, fine = Values(3.5, 4.2), Values(4.5, 4.2)
    results = _run_custom(CSAT, [low, low, fine, low])
    assert [r.verdict for r in results][2:] == ["Pass", "Inconclusive"]
    assert results[-1].failed_intervals == 1


def test_a_custom_metric_without_a_value_keeps_its_count_and_lacks_data() -> None:
    low = Values(3.5, 4.2)
    results = _run_custom(CSAT, [low, Values(None, 4.2), low])
    assert lacks_data(results[1]) and results[1].failed_intervals == 1
    assert results[2].failed_intervals == 2


def test_a_relative_custom_metric_compares_with_the_stable_value() -> None:
    metric = {"name": "handle-time", "query": "q", "maxRelative": 10.0}
    assert _run_custom(metric, [Values(105.0, 100.0)])[0].verdict == "Pass"
    assert _run_custom(metric, [Values(120.0, 100.0)])[0].failed_intervals == 1
    assert lacks_data(_run_custom(metric, [Values(120.0, None)])[0])
