"""What a person sees of the autoscaler: `status.sla` and the MetricsAvailable and SLAMet
conditions, from what it observed and decided (pure, no I/O); and the scaling state it keeps in
`status.sla.bot` and `status.sla.agents` to carry on from after a restart."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import overload

from switchboard.api.status import (
    MAX_RECOMMENDATIONS,
    ForecastPoint,
    SLAStatus,
    WorkloadSLA,
)
from switchboard.api.status import Recommendation as StoredRecommendation
from switchboard.resources.status import Assessment
from switchboard.sizing.decision import Decision, Recommendation, ScalingState, ServiceTarget
from switchboard.sizing.forecast import Forecast
from switchboard.sizing.workloads import Observation, Workload

LAST_DECISION_CHARACTERS = 1024


def rounded(value: float | None, digits: int = 3) -> float | None:
    """`value` to three significant digits, as status shows it; None for nothing or NaN."""
    # Status carries what a person reads; noise in the fourth digit is not worth a write.
    if value is None or math.isnan(value):
        return None
    return float(f"{value:.{digits}g}")


def sla_status(
    observations: Mapping[Workload, Observation | None],
    decisions: Mapping[Workload, Decision],
    forecast: list[ForecastPoint],
) -> SLAStatus:
    """status.sla from the latest observations and decisions (unknown values left out): the
    first autoscaled tier's figures at the top, each tier's with its scaling state below."""
    human = decisions.get("agents") or decisions.get("bot")
    agents, bot = decisions.get("agents"), decisions.get("bot")
    scale_times = [d.state.last_scale_time for d in decisions.values()]
    last_scale = max((t for t in scale_times if t is not None), default=None)
    status = SLAStatus(
        predicted_service_level=(
            rounded(human.predicted.service_level)
            if human is not None and human.predicted is not None
            else None
        ),
        recommended_agents=agents.servers if agents else None,
        bot_servers=bot.servers if bot else None,
        forecast=forecast,
        last_scale_time=_time(last_scale),
        last_decision="; ".join(f"{w}: {d.reason}" for w, d in decisions.items())[
            :LAST_DECISION_CHARACTERS
        ],
        bot=_workload(observations.get("bot"), bot),
        agents=_workload(observations.get("agents"), agents),
    )
    observed = next(iter(observations.values()), None)
    if observed is not None:
        status.service_level = rounded(observed.service_level)
        status.abandon_rate = rounded(observed.abandon_rate)
        status.arrival_rate = rounded(observed.arrival_rate)
        status.handle_time_seconds = rounded(observed.aht_seconds)
        status.patience_seconds = rounded(observed.patience_seconds)
        status.queue_backlog = rounded(observed.backlog)
    return status


def _workload(observed: Observation | None, decision: Decision | None) -> WorkloadSLA | None:
    if decision is None:
        return None
    state = decision.state
    return WorkloadSLA(
        service_level=rounded(observed.service_level) if observed else None,
        abandon_rate=rounded(observed.abandon_rate) if observed else None,
        queue_backlog=rounded(observed.backlog) if observed else None,
        last_scale_time=_time(state.last_scale_time),
        recommendations=[
            StoredRecommendation(since=_time(r.since), replicas=r.replicas, for_rate=r.for_rate)
            for r in _bounded(state.recommendations)
        ],
    )


def _bounded(recommendations: tuple[Recommendation, ...]) -> tuple[Recommendation, ...]:
    """At most `MAX_RECOMMENDATIONS`: the oldest merged into one that holds the highest of them
    in full until the last of them ends (never a scale-down the merged ones would not allow)."""
    if len(recommendations) <= MAX_RECOMMENDATIONS:
        return recommendations
    cut = len(recommendations) - MAX_RECOMMENDATIONS + 1
    merged = recommendations[:cut]
    oldest = Recommendation(merged[0].since, max(r.replicas for r in merged))
    return (oldest, *recommendations[cut:])


def scaling_state(stored: WorkloadSLA | None) -> ScalingState | None:
    """The scaling state kept in status, for the decision to carry on from; None when there is
    none (a workload not autoscaled before)."""
    if stored is None or not stored.recommendations:
        return None
    return ScalingState(
        recommendations=tuple(
            Recommendation(r.since.timestamp(), r.replicas, r.for_rate)
            for r in stored.recommendations
        ),
        last_scale_time=stored.last_scale_time.timestamp() if stored.last_scale_time else None,
    )


@overload
def _time(seconds: float) -> datetime: ...


@overload
def _time(seconds: None) -> None: ...


def _time(seconds: float | None) -> datetime | None:
    """Unix seconds as status keeps them: whole seconds (what a restart reads back)."""
    return None if seconds is None else datetime.fromtimestamp(math.floor(seconds), UTC)


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


def sla_condition(
    observations: Mapping[Workload, Observation | None], target: ServiceTarget
) -> Assessment:
    """SLAMet: every autoscaled tier's observed service level and abandonment against the
    spec's objective; the first that misses, or has no data yet, says why."""
    met: list[str] = []
    for workload, observed in observations.items():
        if observed is None or observed.service_level is None or math.isnan(observed.service_level):
            # NaN: nothing was offered to the tier in the window.
            return Assessment(
                "SLAMet", False, "NoData", f"{workload}: the service level is not known yet"
            )
        level, abandon, limit = observed.service_level, observed.abandon_rate, target.max_abandon
        message = f"{workload}: service level {level:.1%} against a target of {target.target:.0%}"
        if level < target.target:
            return Assessment("SLAMet", False, "ServiceLevelBelowTarget", message)
        if abandon is not None and limit is not None and abandon > limit:
            return Assessment(
                "SLAMet",
                False,
                "AbandonRateAboveLimit",
                f"{workload}: {abandon:.1%} abandoned against a limit of {limit:.0%}",
            )
        met.append(message)
    if not met:
        return Assessment("SLAMet", False, "NoData", "no tier is autoscaled")
    return Assessment("SLAMet", True, "ServiceLevelMet", "; ".join(met))
