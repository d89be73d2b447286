"""What the spec means for the sizing engine: which workloads it sizes, for what target,
within which limits, from which demand (pure).

The autoscaler loop (controllers/autoscale.py) reads metrics and calls `decide` with these.
Pure, yet here beside the loop rather than in sizing/: they read the ContactCenter's API
models, and the sizing engine depends on nothing but the standard library.
"""

from __future__ import annotations

from switchboard.api.common import Autoscaling
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import duration_seconds
from switchboard.sizing.decision import Demand, ScalingLimits, ServiceTarget
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
        skill_groups=observed.skill_groups,
        interval=observed.interval,
    )
