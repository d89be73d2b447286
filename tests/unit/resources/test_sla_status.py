from datetime import UTC, datetime

import pytest

from switchboard.api.status import MAX_RECOMMENDATIONS, ContactCenterStatus, SLAStatus
from switchboard.resources.sla_status import (
    forecast_points,
    metrics_condition,
    scaling_state,
    sla_condition,
    sla_status,
)
from switchboard.resources.status import status_document
from switchboard.sizing.decision import (
    Decision,
    Demand,
    Recommendation,
    ScalingLimits,
    ScalingState,
    ServiceTarget,
    decide,
)
from switchboard.sizing.erlang import Performance
from switchboard.sizing.forecast import Forecast
from switchboard.sizing.workloads import Observation, Workload
from tests.unit.sizing.helpers import observation

TARGET = ServiceTarget(target=0.8, within_seconds=20.0, max_abandon=0.05)


NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def decision(
    servers: int | None, *, metrics_available: bool = True, state: ScalingState | None = None
) -> Decision:
    return Decision(
        replicas=7,
        servers=servers,
        predicted=Performance(14, 0.8889, 0.174, 7.0, 0.0, 0.714) if servers else None,
        reason="arrivals 0.0556/s, AHT 180 s -> 14 servers for 80/20",
        metrics_available=metrics_available,
        state=state or ScalingState(),
    )


def test_status_explains_the_decision_without_noise_digits() -> None:
    observed = observation(arrival_rate=0.0555555, aht_seconds=180.04, service_level=0.87654)
    scaled = ScalingState(last_scale_time=NEW_YEAR)
    status = sla_status({"agents": observed}, {"agents": decision(14, state=scaled)}, [])
    written = status_document(ContactCenterStatus(sla=status))["sla"]
    assert written["recommendedAgents"] == 14
    assert written["predictedServiceLevel"] == 0.889
    assert written["arrivalRate"] == 0.0556 and written["serviceLevel"] == 0.877
    assert written["lastDecision"].startswith("agents: arrivals 0.0556/s")
    assert written["lastScaleTime"] == "2026-01-01T00:00:00Z"
    assert "abandonRate" not in written  # unknown is left out, not zero
    assert "botServers" not in written


def test_without_an_observation_only_the_decision_is_shown() -> None:
    status = sla_status({"bot": None}, {"bot": decision(None, metrics_available=False)}, [])
    written = status_document(ContactCenterStatus(sla=status))["sla"]
    assert set(written) == {"lastDecision", "forecast", "bot"}
    assert written["bot"] == {"recommendations": []}


def test_each_tier_shows_its_own_figures_and_the_latest_scale_of_either() -> None:
    observations: dict[Workload, Observation | None] = {
        "bot": observation(service_level=0.99, abandon_rate=0.0, backlog=1.0),
        "agents": observation(service_level=0.81234, abandon_rate=0.0321, backlog=12.0),
    }
    decisions: dict[Workload, Decision] = {
        "bot": decision(40, state=ScalingState(last_scale_time=NEW_YEAR)),
        "agents": decision(14, state=ScalingState(last_scale_time=NEW_YEAR + 90.7)),
    }
    written = status_document(ContactCenterStatus(sla=sla_status(observations, decisions, [])))
    sla = written["sla"]
    assert sla["serviceLevel"] == 0.99  # the first autoscaled tier's at the top
    assert sla["agents"]["serviceLevel"] == 0.812
    assert sla["agents"]["abandonRate"] == 0.0321
    assert sla["agents"]["queueBacklog"] == 12.0
    assert sla["bot"]["lastScaleTime"] == "2026-01-01T00:00:00Z"
    assert sla["agents"]["lastScaleTime"] == sla["lastScaleTime"] == "2026-01-01T00:01:30Z"


def test_the_scaling_state_comes_back_from_status_as_it_went_in() -> None:
    """What a restarted operator reads is what it wrote (times in whole seconds, as status keeps
    them), so it decides as it would have without the restart, and writes nothing new."""
    limits = ScalingLimits(min_replicas=1, max_replicas=50)
    state = ScalingState()
    for now, rate in ((NEW_YEAR, 100 / 1800), (NEW_YEAR + 30, 20 / 1800)):
        made = decide(now, 14, Demand(rate, 180.0), rate, TARGET, limits, state)
        state = made.state
    status = sla_status({"agents": observation(arrival_rate=rate)}, {"agents": made}, [])
    stored = SLAStatus.model_validate(status_document(ContactCenterStatus(sla=status))["sla"])
    restored = scaling_state(stored.agents)
    assert restored == state
    assert restored is not None
    assert len(restored.recommendations) == 2 and restored.recommendations[0].for_rate == 14
    assert scaling_state(None) is None
    assert scaling_state(SLAStatus().agents) is None


def test_a_long_history_is_kept_bounded_without_losing_its_highest() -> None:
    many = tuple(
        Recommendation(NEW_YEAR + 5.0 * i, 10 + i % 7, 9) for i in range(MAX_RECOMMENDATIONS + 40)
    )
    status = sla_status({"bot": None}, {"bot": decision(5, state=ScalingState(many))}, [])
    assert status.bot is not None
    kept = status.bot.recommendations
    assert len(kept) == MAX_RECOMMENDATIONS
    assert (kept[0].replicas, kept[0].for_rate) == (16, None)  # held in full
    assert kept[0].since.timestamp() == NEW_YEAR
    assert [r.replicas for r in kept[1:]] == [r.replicas for r in many[41:]]


def test_forecast_points_are_rates_per_second_with_an_80_percent_interval() -> None:
    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC).timestamp()
    points = forecast_points(start, Forecast(mean=(600.0, 900.0), stddev=(0.0, 30.0)), 300.0)
    assert [point.start.isoformat() for point in points] == [
        "2026-01-01T08:00:00+00:00",
        "2026-01-01T08:05:00+00:00",
    ]
    assert [point.arrival_rate for point in points] == [2.0, 3.0]
    # 900 -/+ 1.2816 x 30 contacts over 300 s.
    assert points[1].lower == pytest.approx(2.8718, abs=1e-4)
    assert points[1].upper == pytest.approx(3.1282, abs=1e-4)


def test_missing_metrics_say_what_is_held() -> None:
    unreachable = metrics_condition("arrival rate: connection refused", {})
    assert (unreachable.status, unreachable.reason) == (False, "PrometheusUnavailable")
    assert unreachable.message.endswith("holding the current replicas")
    missing = metrics_condition(None, {"agents": decision(None, metrics_available=False)})
    assert (missing.status, missing.reason) == (False, "MetricsMissing")
    assert metrics_condition(None, {"agents": decision(14)}).status


def test_the_objective_is_met_only_with_both_service_level_and_abandonment() -> None:
    assert sla_condition({"bot": observation(service_level=0.85, abandon_rate=0.01)}, TARGET).status
    below = sla_condition({"bot": observation(service_level=0.75)}, TARGET)
    assert (below.status, below.reason) == (False, "ServiceLevelBelowTarget")
    abandoned = sla_condition({"bot": observation(service_level=0.85, abandon_rate=0.08)}, TARGET)
    assert (abandoned.status, abandoned.reason) == (False, "AbandonRateAboveLimit")


def test_the_objective_is_met_only_when_every_tier_meets_it() -> None:
    good = observation(service_level=0.95, abandon_rate=0.0)
    both = sla_condition({"bot": good, "agents": good}, TARGET)
    assert both.status and "bot:" in both.message and "agents:" in both.message
    behind = sla_condition({"bot": good, "agents": observation(service_level=0.7)}, TARGET)
    assert (behind.status, behind.reason) == (False, "ServiceLevelBelowTarget")
    assert behind.message.startswith("agents: service level 70.0%")


def test_no_contacts_offered_is_no_data_not_a_met_objective() -> None:
    """Prometheus answers 0/0 with NaN when nothing was offered in the window."""
    assert sla_condition({"bot": None}, TARGET).reason == "NoData"
    nan = observation(service_level=float("nan"))
    assert sla_condition({"agents": nan}, TARGET).reason == "NoData"
