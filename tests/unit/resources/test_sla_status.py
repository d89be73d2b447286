from datetime import UTC, datetime

import pytest

from switchboard.api.status import ContactCenterStatus
from switchboard.resources.sla_status import (
    forecast_points,
    metrics_condition,
    sla_condition,
    sla_status,
)
from switchboard.resources.status import status_document
from switchboard.sizing.decision import Decision, ScalingState, ServiceTarget
from switchboard.sizing.erlang import Performance
from switchboard.sizing.forecast import Forecast
from tests.unit.sizing.helpers import observation

TARGET = ServiceTarget(target=0.8, within_seconds=20.0, max_abandon=0.05)


def decision(servers: int | None, *, metrics_available: bool = True) -> Decision:
    return Decision(
        replicas=7,
        servers=servers,
        predicted=Performance(14, 0.8889, 0.174, 7.0, 0.0, 0.714) if servers else None,
        reason="arrivals 0.0556/s, AHT 180 s -> 14 servers for 80/20",
        metrics_available=metrics_available,
        state=ScalingState(),
    )


def test_status_explains_the_decision_without_noise_digits() -> None:
    observed = observation(arrival_rate=0.0555555, aht_seconds=180.04, service_level=0.87654)
    scaled = datetime(2026, 1, 1, tzinfo=UTC)
    status = sla_status(observed, {"agents": decision(14)}, [], scaled)
    written = status_document(ContactCenterStatus(sla=status))["sla"]
    assert written["recommendedAgents"] == 14
    assert written["predictedServiceLevel"] == 0.889
    assert written["arrivalRate"] == 0.0556 and written["serviceLevel"] == 0.877
    assert written["lastDecision"].startswith("agents: arrivals 0.0556/s")
    assert written["lastScaleTime"] == "2026-01-01T00:00:00Z"
    assert "abandonRate" not in written  # unknown is left out, not zero
    assert "botServers" not in written


def test_without_an_observation_only_the_decision_is_shown() -> None:
    status = sla_status(None, {"bot": decision(None, metrics_available=False)}, [], None)
    written = status_document(ContactCenterStatus(sla=status))["sla"]
    assert set(written) == {"lastDecision", "forecast"}


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
    assert sla_condition(observation(service_level=0.85, abandon_rate=0.01), TARGET).status
    below = sla_condition(observation(service_level=0.75), TARGET)
    assert (below.status, below.reason) == (False, "ServiceLevelBelowTarget")
    abandoned = sla_condition(observation(service_level=0.85, abandon_rate=0.08), TARGET)
    assert (abandoned.status, abandoned.reason) == (False, "AbandonRateAboveLimit")


def test_no_contacts_offered_is_no_data_not_a_met_objective() -> None:
    """Prometheus answers 0/0 with NaN when nothing was offered in the window."""
    assert sla_condition(None, TARGET).reason == "NoData"
    assert sla_condition(observation(service_level=float("nan")), TARGET).reason == "NoData"
