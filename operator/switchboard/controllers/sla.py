"""From the spec to the sizing engine's inputs, and from its decisions to status (pure).

The autoscaler loop (controllers/autoscale.py) reads metrics and calls `decide`; these
functions say what the spec means for it and what a person sees of the result.

Pure, yet here beside the loop rather than in sizing/: they read the ContactCenter's API
models, and the sizing engine depends on nothing but the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from switchboard.api.common import Autoscaling
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import duration_seconds
from switchboard.sizing.decision import Decision, Demand, ScalingLimits, ServiceTarget
from switchboard.sizing.workloads import WORKLOADS, Observation, Workload


def autoscaling(cc: ContactCenter, workload: Workload) -> Autoscaling | None:
    """The workload's autoscaling spec; None: it runs the replicas its spec names."""
    return cc.spec.bot.autoscaling if workload == "bot" else cc.spec.agents.autoscaling


def autoscaled(cc: ContactCenter) -> list[Workload]:
    """The workloads whose replicas the operator sizes."""
    return [w for w in WORKLOADS if autoscaling(cc, w) is not None]


def servers_per_replica(cc: ContactCenter, workload: Workload) -> int:
    """Queueing-model servers one replica provides: bot conversations or human seats."""
    return cc.spec.bot.concurrency if workload == "bot" else cc.spec.agents.seats_per_replica


def service_target(cc: ContactCenter) -> ServiceTarget:
    sla = cc.spec.sla
    return ServiceTarget(
        target=sla.service_level.target,
        within_seconds=float(sla.service_level.answer_within_seconds),
        max_abandon=sla.max_abandon_rate,
        max_occupancy=sla.max_occupancy if sla.max_occupancy is not None else 1.0,
    )


def scaling_limits(cc: ContactCenter, workload: Workload) -> ScalingLimits:
    """The spec's bounds and pace, one field to one field (a step is the larger of its
    replica and percent limits, as the HorizontalPodAutoscaler's `selectPolicy: Max`)."""
    scaling = autoscaling(cc, workload)
    assert scaling is not None, f"{workload} is not autoscaled"
    up, down = scaling.scale_up, scaling.scale_down
    return ScalingLimits(
        min_replicas=scaling.min_replicas,
        max_replicas=scaling.max_replicas,
        servers_per_replica=servers_per_replica(cc, workload),
        scale_up_window_seconds=duration_seconds(up.stabilization_window),
        scale_down_window_seconds=duration_seconds(down.stabilization_window),
        max_step_up=up.max_replicas_per_step,
        max_step_up_percent=up.max_percent_per_step,
        max_step_down=down.max_replicas_per_step,
        max_step_down_percent=down.max_percent_per_step,
        readiness_seconds=duration_seconds(scaling.readiness_lead_time),
        interval_seconds=duration_seconds(cc.spec.metrics.interval),
    )


def metric_windows(cc: ContactCenter) -> tuple[float, tuple[float, ...], float]:
    """(rate window, recent windows, handle-time window) in seconds: the recent window and
    five times it while that is still shorter than the rate window."""
    metrics = cc.spec.metrics
    rate = duration_seconds(metrics.rate_window)
    recent = duration_seconds(metrics.recent_window)
    recents = tuple(window for window in (recent, 5 * recent) if window < rate) or (recent,)
    return rate, recents, duration_seconds(metrics.handle_time_window)


def readiness_lead_seconds(cc: ContactCenter, workload: Workload) -> float:
    scaling = autoscaling(cc, workload)
    return duration_seconds(scaling.readiness_lead_time) if scaling else 0.0


def demand(cc: ContactCenter, observed: Observation | None) -> Demand:
    """The sizing demand; patience from the metrics, else from the spec. No observation at
    all (Prometheus unreachable) is missing metrics, which holds replicas."""
    if observed is None:
        return Demand(arrival_rate=None, aht_seconds=None)
    patience = observed.patience_seconds
    if patience is None:
        patience = cc.spec.sla.patience_seconds
    return Demand(
        arrival_rate=observed.arrival_rate,
        aht_seconds=observed.aht_seconds,
        patience_seconds=patience,
        backlog=observed.backlog,
        arrival_window_seconds=observed.window_seconds,
        recent_arrival_rates=observed.recent_arrival_rates,
        in_system=observed.in_system,
    )


def _rounded(value: float | None, digits: int = 3) -> float | None:
    # Status carries what a person reads; noise in the fourth digit is not worth a write.
    if value is None or math.isnan(value):
        return None
    return float(f"{value:.{digits}g}")


def sla_status(
    current: Mapping[str, Any],
    observed: Observation | None,
    decisions: Mapping[Workload, Decision],
    forecast_points: list[dict[str, Any]],
    last_scale_time: str | None,
) -> dict[str, Any]:
    """status.sla from the latest observation and decisions (fields left out when unknown)."""
    status: dict[str, Any] = {}
    if observed is not None:
        status |= {
            "serviceLevel": _rounded(observed.service_level),
            "abandonRate": _rounded(observed.abandon_rate),
            "arrivalRate": _rounded(observed.arrival_rate),
            "handleTimeSeconds": _rounded(observed.aht_seconds),
            "patienceSeconds": _rounded(observed.patience_seconds),
            "queueBacklog": _rounded(observed.backlog),
        }
    human = decisions.get("agents") or decisions.get("bot")
    if human is not None and human.predicted is not None:
        status["predictedServiceLevel"] = _rounded(human.predicted.service_level)
    if "agents" in decisions and decisions["agents"].servers is not None:
        status["recommendedAgents"] = decisions["agents"].servers
    if "bot" in decisions and decisions["bot"].servers is not None:
        status["botServers"] = decisions["bot"].servers
    if forecast_points:
        status["forecast"] = forecast_points
    status["lastScaleTime"] = last_scale_time or current.get("lastScaleTime")
    status["lastDecision"] = "; ".join(f"{w}: {d.reason}" for w, d in decisions.items())[:1024]
    return {key: value for key, value in status.items() if value is not None}
