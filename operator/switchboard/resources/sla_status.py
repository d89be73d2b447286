"""What a person sees of the autoscaler: `status.sla` and the MetricsAvailable and SLAMet
conditions, from what it observed and decided (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

from switchboard.api.status import ForecastPoint, SLAStatus
from switchboard.resources.status import Assessment
from switchboard.sizing.decision import Decision, ServiceTarget
from switchboard.sizing.forecast import Forecast
from switchboard.sizing.workloads import Observation, Workload

LAST_DECISION_CHARACTERS = 1024


def _rounded(value: float | None, digits: int = 3) -> float | None:
    # Status carries what a person reads; noise in the fourth digit is not worth a write.
    if value is None or math.isnan(value):
        return None
    return float(f"{value:.{digits}g}")


def sla_status(
    observed: Observation | None,
    decisions: Mapping[Workload, Decision],
    forecast: list[ForecastPoint],
    last_scale_time: datetime | None,
) -> SLAStatus:
    """status.sla from the latest observation and decisions (unknown values left out)."""
    human = decisions.get("agents") or decisions.get("bot")
    agents, bot = decisions.get("agents"), decisions.get("bot")
    status = SLAStatus(
        predicted_service_level=(
            _rounded(human.predicted.service_level)
            if human is not None and human.predicted is not None
            else None
        ),
        recommended_agents=agents.servers if agents else None,
        bot_servers=bot.servers if bot else None,
        forecast=forecast,
        last_scale_time=last_scale_time,
        last_decision="; ".join(f"{w}: {d.reason}" for w, d in decisions.items())[
            :LAST_DECISION_CHARACTERS
        ],
    )
    if observed is not None:
        status.service_level = _rounded(observed.service_level)
        status.abandon_rate = _rounded(observed.abandon_rate)
        status.arrival_rate = _rounded(observed.arrival_rate)
        status.handle_time_seconds = _rounded(observed.aht_seconds)
        status.patience_seconds = _rounded(observed.patience_seconds)
        status.queue_backlog = _rounded(observed.backlog)
    return status


def forecast_points(start: float, forecast: Forecast, slot_seconds: float) -> list[ForecastPoint]:
    """The forecast per slot from `start` (Unix seconds), in contacts per second, with its
    80% prediction interval."""
    low, high = forecast.quantile(0.1), forecast.quantile(0.9)
    return [
        ForecastPoint(
            start=datetime.fromtimestamp(start + index * slot_seconds, UTC),
            arrival_rate=round(mean / slot_seconds, 4),
            lower=round(low[index] / slot_seconds, 4),
            upper=round(high[index] / slot_seconds, 4),
        )
        for index, mean in enumerate(forecast.mean)
    ]


def metrics_condition(
    unavailable: str | None, decisions: Mapping[Workload, Decision]
) -> Assessment:
    """MetricsAvailable: whether the demand could be read, and what is held when not."""
    if unavailable is not None:
        return Assessment(
            "MetricsAvailable",
            False,
            "PrometheusUnavailable",
            f"{unavailable}; holding the current replicas",
        )
    missing = [f"{w}: {d.reason}" for w, d in decisions.items() if not d.metrics_available]
    if missing:
        return Assessment(
            "MetricsAvailable",
            False,
            "MetricsMissing",
            "; ".join(missing) + "; holding the current replicas",
        )
    return Assessment("MetricsAvailable", True, "MetricsRead", "demand read from Prometheus")


def sla_condition(observed: Observation | None, target: ServiceTarget) -> Assessment:
    """SLAMet: the observed service level and abandonment against the spec's objective."""
    if observed is None or observed.service_level is None or math.isnan(observed.service_level):
        # NaN: nothing was offered in the window.
        return Assessment("SLAMet", False, "NoData", "the service level is not known yet")
    level, abandon, limit = observed.service_level, observed.abandon_rate, target.max_abandon
    message = f"service level {level:.1%} against a target of {target.target:.0%}"
    if level < target.target:
        return Assessment("SLAMet", False, "ServiceLevelBelowTarget", message)
    if abandon is not None and limit is not None and abandon > limit:
        return Assessment(
            "SLAMet",
            False,
            "AbandonRateAboveLimit",
            f"{abandon:.1%} abandoned against a limit of {limit:.0%}",
        )
    return Assessment("SLAMet", True, "ServiceLevelMet", message)
