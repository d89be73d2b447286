"""The canary's analysis: a verdict per metric of spec.bot.rollout.analysis (docs/rollouts.md).

Built-in metrics are proportions counted per model version since the rollout began, judged by
the always-valid test of `sequential`:

| metric | events | of |
|---|---|---|
| containment-rate | conversations `contained` | conversations that left the bot |
| escalation-rate | conversations `escalated` | conversations that left the bot |
| error-rate | conversations `failed` | conversations that left the bot |
| service-level | contacts answered within the objective | contacts offered |
| latency-p95 | bot turns slower than maxSeconds | bot turns |

Each bound of a metric has two one-sided tests. The canary fails a bound when the test shows it
beyond the bound (false failure at most alpha, split over the bounds of all metrics); it passes
when the test rules out that it is beyond the bound by more than the bound's tolerance (a
tolerance of 0 for an absolute bound; the margin itself for a relative bound that allows a
regression, so that "at most 5 points worse" passes once "10 points worse or more" is ruled out).
latency-p95 <= maxSeconds is "at most 5% of turns slower than maxSeconds", a bound on a rate.

A metric with a `query` is a custom one: a value per version at every interval, with no counts,
so no test; it fails after `CUSTOM_FAILURE_LIMIT` consecutive intervals out of bounds.

No data is never a failure: a metric without the counts its bounds need is Inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from switchboard.api.bot import LATENCY_METRIC, Analysis, AnalysisMetric
from switchboard.api.status import AnalysisResult
from switchboard.rollout.sequential import Counts, Side, difference_log_e, rate_log_e

ALPHA = 0.01
"""The chance of a false failure of the whole analysis, and of a false pass of each metric."""
SLOW_TURN_SHARE = 0.05
"""p95 <= maxSeconds exactly when at most this share of turns is slower than maxSeconds."""
ABSOLUTE_SCALE = 0.1
"""The mixture's scale for a bound without tolerance, in binomial standard deviations at the
bound: the test is tuned to effects of about a tenth of sqrt(p (1 - p))."""
CUSTOM_FAILURE_LIMIT = 3
"""Consecutive intervals out of bounds before a custom metric fails."""

Keep = Literal["above", "below"]

OUTCOME_EVENTS: Mapping[str, str] = {
    "containment-rate": "contained",
    "escalation-rate": "escalated",
    "error-rate": "failed",
}


@dataclass(frozen=True)
class Measurement:
    """What the controller measures for a metric, per model version."""

    kind: Literal["outcomes", "slow-turns", "service-level", "query"]
    outcome: str | None = None
    """outcomes: the `outcome` label counted as events, of all outcomes of
    switchboard_bot_conversations_total since the rollout began."""
    seconds: float | None = None
    """slow-turns: turns of switchboard_bot_response_seconds above this bucket bound, of all."""
    query: str | None = None
    """query: the metric's PromQL, run for each version at every interval."""


def measurement(metric: AnalysisMetric) -> Measurement:
    if metric.query is not None:
        return Measurement("query", query=metric.query)
    if metric.name == LATENCY_METRIC:
        return Measurement("slow-turns", seconds=metric.max_seconds)
    if metric.name == "service-level":
        return Measurement("service-level")
    return Measurement("outcomes", outcome=OUTCOME_EVENTS[metric.name])


@dataclass(frozen=True)
class Proportions:
    """A built-in metric's counts per version since the rollout began (None: no series)."""

    canary: Counts | None
    stable: Counts | None


@dataclass(frozen=True)
class Values:
    """A custom metric's values per version at this interval (None: no value)."""

    canary: float | None
    stable: float | None


Observation = Proportions | Values


@dataclass(frozen=True)
class Bound:
    """One bound of a metric: where the canary's value (or its difference from the stable
    model's) must stay."""

    name: str
    limit: float
    keep: Keep
    relative: bool
    label: str = ""
    """How messages name the bound; `name limit` when empty."""
    subject: str = "the rate"
    """How messages name the value bounded."""

    @property
    def described(self) -> str:
        return self.label or f"{self.name} {self.limit:g}"

    @property
    def tolerance(self) -> float:
        """How far beyond the bound a pass still rules out: the margin of a relative bound that
        allows a regression (minRelative < 0, maxRelative > 0), else 0."""
        if not self.relative:
            return 0.0
        return max(0.0, -self.limit) if self.keep == "above" else max(0.0, self.limit)

    @property
    def pass_limit(self) -> float:
        """The value the pass rules out, clamped to where a rate or difference can lie."""
        low = -1.0 if self.relative else 0.0
        beyond = (
            self.limit - self.tolerance if self.keep == "above" else self.limit + self.tolerance
        )
        return min(1.0, max(low, beyond))

    def scale(self) -> float:
        if self.tolerance > 0:
            return self.tolerance
        reference = 0.5 if self.relative else min(max(self.limit, 0.01), 0.99)
        return ABSOLUTE_SCALE * math.sqrt(reference * (1 - reference))

    def violated_by(self, value: float) -> bool:
        return value < self.limit if self.keep == "above" else value > self.limit


def bounds(metric: AnalysisMetric) -> list[Bound]:
    """The metric's bounds; maxSeconds of latency-p95 is the 5% bound on slow turns."""
    if metric.name == LATENCY_METRIC and metric.query is None:
        label = f"maxSeconds {metric.max_seconds:g} (at most {SLOW_TURN_SHARE:.0%} of turns slower)"
        return [
            Bound("maxSeconds", SLOW_TURN_SHARE, "below", False, label, "the share of slow turns")
        ]
    found = [
        Bound("min", metric.min, "above", False) if metric.min is not None else None,
        Bound("max", metric.max, "below", False) if metric.max is not None else None,
        Bound("maxSeconds", metric.max_seconds, "below", False)
        if metric.max_seconds is not None
        else None,
        Bound("minRelative", metric.min_relative, "above", True, subject="the difference")
        if metric.min_relative is not None
        else None,
        Bound("maxRelative", metric.max_relative, "below", True, subject="the difference")
        if metric.max_relative is not None
        else None,
    ]
    return [bound for bound in found if bound is not None]


def lacks_data(result: AnalysisResult) -> bool:
    """The metric had no value to judge (no conversations, no series)."""
    return result.verdict == "Inconclusive" and result.canary is None


def analyze(
    analysis: Analysis,
    observations: Mapping[str, Observation],
    previous: Sequence[AnalysisResult],
    now: datetime,
) -> list[AnalysisResult]:
    """A verdict per metric, from what was observed for it (missing: no data) and, for custom
    metrics, the previous verdict (its run of intervals out of bounds)."""
    tested = [bound for m in analysis.metrics if m.query is None for bound in bounds(m)]
    fail_threshold = math.log(max(len(tested), 1) / ALPHA)
    before = {result.metric: result for result in previous}
    results = []
    for metric in analysis.metrics:
        observation = observations.get(metric.name)
        if metric.query is not None:
            values = observation if isinstance(observation, Values) else Values(None, None)
            result = _judge_values(metric, values, before.get(metric.name))
        else:
            counts = (
                observation if isinstance(observation, Proportions) else Proportions(None, None)
            )
            result = _judge_counts(metric, counts, fail_threshold)
        results.append(result.model_copy(update={"time": now}))
    return results


# --- built-in metrics: the sequential test --------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    bound: Bound
    against_within: float  # log E against "within the bound"
    against_beyond: float  # log E against "beyond the bound by more than its tolerance"


def _judge_counts(
    metric: AnalysisMetric, observed: Proportions, fail_threshold: float
) -> AnalysisResult:
    checks = bounds(metric)
    canary, stable = observed.canary, observed.stable
    counted = {
        "canary_count": canary.total if canary else None,
        "stable_count": stable.total if stable else None,
    }
    needs_stable = any(bound.relative for bound in checks)
    if canary is None or canary.total == 0:
        return _no_data(metric, "no outcomes of the canary model yet", counted)
    if needs_stable and (stable is None or stable.total == 0):
        return _no_data(metric, "no outcomes of the stable model to compare with", counted)
    evidence = [_evidence(bound, canary, stable) for bound in checks]
    failed = [e for e in evidence if e.against_within >= fail_threshold]
    passed = [e for e in evidence if e.against_beyond >= math.log(1 / ALPHA)]
    verdict: Literal["Pass", "Fail", "Inconclusive"]
    if failed:
        verdict = "Fail"
        findings = [_beyond(e, fail_threshold) for e in failed]
    elif len(passed) == len(evidence):
        verdict = "Pass"
        findings = [_within(e) for e in evidence]
    else:
        verdict = "Inconclusive"
        findings = [_undecided(e, fail_threshold) for e in evidence if e not in passed]
    return AnalysisResult(
        metric=metric.name,
        verdict=verdict,
        canary=canary.rate,
        stable=stable.rate if stable else None,
        message=f"{_rates(canary, stable)}: {'; '.join(findings)}",
        **counted,
    )


def _evidence(bound: Bound, canary: Counts, stable: Counts | None) -> _Evidence:
    toward: Side = "below" if bound.keep == "above" else "above"
    away: Side = "above" if toward == "below" else "below"
    scale = bound.scale()
    if bound.relative:
        assert stable is not None
        return _Evidence(
            bound,
            difference_log_e(canary, stable, bound.limit, scale, toward),
            difference_log_e(canary, stable, bound.pass_limit, scale, away),
        )
    return _Evidence(
        bound,
        rate_log_e(canary, bound.limit, scale, toward),
        rate_log_e(canary, bound.pass_limit, scale, away),
    )


def _rates(canary: Counts, stable: Counts | None) -> str:
    text = f"canary {canary.events / canary.total:.3f} of {canary.total:.0f}"
    if stable is None or stable.total == 0:
        return text
    difference = canary.events / canary.total - stable.events / stable.total
    return (
        f"{text}, stable {stable.events / stable.total:.3f} of {stable.total:.0f} "
        f"(difference {difference:+.3f})"
    )


def _side(bound: Bound) -> str:
    return "below" if bound.keep == "above" else "above"


def _e(log_e: float, threshold: float) -> str:
    shown = f"{math.exp(log_e):.3g}" if log_e < 700 else "over 1e300"
    return f"evidence {shown}, decisive at {math.exp(threshold):.0f}"


def _beyond(e: _Evidence, threshold: float) -> str:
    bound = e.bound
    return (
        f"{bound.subject} is {_side(bound)} {bound.described} ({_e(e.against_within, threshold)})"
    )


def _within(e: _Evidence) -> str:
    bound = e.bound
    return (
        f"{bound.described} met: {bound.subject} {_side(bound)} "
        f"{bound.pass_limit:g} is ruled out ({_e(e.against_beyond, math.log(1 / ALPHA))})"
    )


def _undecided(e: _Evidence, threshold: float) -> str:
    bound = e.bound
    return (
        f"{bound.described} undecided: {_side(bound)} it at "
        f"{_e(e.against_within, threshold)}; {_side(bound)} {bound.pass_limit:g} ruled out at "
        f"{_e(e.against_beyond, math.log(1 / ALPHA))}"
    )


def _no_data(metric: AnalysisMetric, why: str, kept: Mapping[str, float | None]) -> AnalysisResult:
    """Inconclusive without a value; `kept`: the fields that still say something."""
    return AnalysisResult(
        metric=metric.name, verdict="Inconclusive", message=f"no data: {why}", **kept
    )


# --- custom metrics: a fixed threshold ------------------------------------------------------


def _judge_values(
    metric: AnalysisMetric, values: Values, previous: AnalysisResult | None
) -> AnalysisResult:
    checks = bounds(metric)
    streak = previous.failed_intervals if previous else 0
    kept = {"failed_intervals": streak}
    if values.canary is None:
        return _no_data(metric, "the query returned no value for the canary model", kept)
    stable = values.stable
    if stable is None and any(bound.relative for bound in checks):
        why = "the query returned no value for the stable model to compare with"
        return _no_data(metric, why, kept)
    canary = values.canary
    broken = [
        bound
        for bound in checks
        if bound.violated_by(canary - stable if bound.relative and stable is not None else canary)
    ]
    shown = f"canary {values.canary:g}" + (
        f", stable {values.stable:g}" if values.stable is not None else ""
    )
    if not broken:
        return AnalysisResult(
            metric=metric.name,
            verdict="Pass",
            canary=values.canary,
            stable=values.stable,
            message=f"{shown}: within bounds",
        )
    streak += 1
    names = ", ".join(bound.described for bound in broken)
    return AnalysisResult(
        metric=metric.name,
        verdict="Fail" if streak >= CUSTOM_FAILURE_LIMIT else "Inconclusive",
        canary=values.canary,
        stable=values.stable,
        failed_intervals=streak,
        message=(
            f"{shown}: out of bounds ({names}) {streak} interval(s) in a row, "
            f"fails at {CUSTOM_FAILURE_LIMIT}"
        ),
    )
