"""The operator's own Prometheus metrics."""

from __future__ import annotations

import contextlib

from prometheus_client import Counter, Gauge, Histogram

from switchboard.sizing.workloads import WORKLOADS

DIRECTIONS = ("up", "down", "hold")
OBJECTIVES = ("service_level", "max_abandon_rate")

RECONCILES = Counter(
    "switchboard_reconcile_total",
    "Reconciles of a ContactCenter, by result (ok, waiting, error).",
    ["namespace", "contact_center", "result"],
)
RECONCILE_ERRORS = Counter(
    "switchboard_reconcile_errors_total",
    "Reconciles that failed with an error and will be retried.",
    ["namespace", "contact_center"],
)
RECONCILE_SECONDS = Histogram(
    "switchboard_reconcile_duration_seconds",
    "Time one reconcile of a ContactCenter took.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
API_WRITES = Counter(
    "switchboard_api_writes_total",
    "Write requests the operator sent to the Kubernetes API, by verb and kind.",
    ["verb", "kind"],
)
WORKQUEUE_DEPTH = Gauge(
    "switchboard_workqueue_depth",
    "ContactCenters queued for a reconcile and not yet taken by a worker.",
)
LEADER = Gauge(
    "switchboard_leader",
    "1 while this replica leads (reconciles, scales, rolls out), 0 while it follows and keeps "
    "its caches warm; by the replica's identity in the leader election Lease.",
    ["identity"],
)
_WORKLOAD = ["namespace", "contact_center", "workload"]
DESIRED_REPLICAS = Gauge(
    "switchboard_autoscaler_desired_replicas",
    "Replicas the SLA autoscaler decided for a workload (bot, agents).",
    _WORKLOAD,
)
CURRENT_REPLICAS = Gauge(
    "switchboard_autoscaler_current_replicas",
    "Replicas the workload had when the autoscaler decided.",
    _WORKLOAD,
)
PREDICTED_SERVICE_LEVEL = Gauge(
    "switchboard_autoscaler_predicted_service_level",
    "Service level the queueing model predicts at the decided replicas.",
    _WORKLOAD,
)
_CONTACT_CENTER = ["namespace", "contact_center"]
ROLLOUT_PHASE = Gauge(
    "switchboard_rollout_phase",
    "1 for the phase of status.rollout the ContactCenter is in, 0 for the other phases.",
    [*_CONTACT_CENTER, "phase"],
)
ROLLOUT_WEIGHT = Gauge(
    "switchboard_rollout_weight",
    "Percentage of new conversations the canary model takes.",
    _CONTACT_CENTER,
)
ROLLOUT_ANALYSIS = Counter(
    "switchboard_rollout_analysis",
    "Verdicts of the canary analysis, by analysis metric and verdict (Pass, Fail, Inconclusive).",
    [*_CONTACT_CENTER, "metric", "verdict"],
)
OBSERVED_SERVICE_LEVEL = Gauge(
    "switchboard_autoscaler_observed_service_level",
    "Service level the workload's tier achieved over the rate window, as Prometheus measured it.",
    _WORKLOAD,
)
FORECAST_ARRIVAL_RATE = Gauge(
    "switchboard_autoscaler_forecast_arrival_rate",
    "Forecast arrival rate (contacts/s) the autoscaler sized the workload for.",
    _WORKLOAD,
)
SCALING_DECISIONS = Counter(
    "switchboard_autoscaler_decisions_total",
    "Autoscaler decisions, by direction: up, down, or hold (the replicas stay).",
    [*_WORKLOAD, "direction"],
)
METRICS_AVAILABLE = Gauge(
    "switchboard_autoscaler_metrics_available",
    "1 when the autoscaler read demand from Prometheus at its last interval, 0 when it could not "
    "(the MetricsAvailable condition as a number).",
    ["namespace", "contact_center"],
)
SLA_OBJECTIVE = Gauge(
    "switchboard_sla_objective",
    "The ContactCenter's objectives: objective=service_level (sla.serviceLevel.target) and "
    "max_abandon_rate, for alerts and panels to compare against.",
    ["namespace", "contact_center", "objective"],
)

_BY_WORKLOAD = (
    DESIRED_REPLICAS,
    CURRENT_REPLICAS,
    PREDICTED_SERVICE_LEVEL,
    OBSERVED_SERVICE_LEVEL,
    FORECAST_ARRIVAL_RATE,
)


def forget_contact_center(namespace: str, contact_center: str) -> None:
    """Drops a deleted ContactCenter's autoscaler series: a gauge would otherwise report its
    last value for as long as the operator runs."""
    removals: list[tuple[Gauge | Counter, tuple[str, ...]]] = [
        (METRICS_AVAILABLE, (namespace, contact_center)),
        *((SLA_OBJECTIVE, (namespace, contact_center, o)) for o in OBJECTIVES),
    ]
    for workload in WORKLOADS:
        removals += [(gauge, (namespace, contact_center, workload)) for gauge in _BY_WORKLOAD]
        removals += [
            (SCALING_DECISIONS, (namespace, contact_center, workload, direction))
            for direction in DIRECTIONS
        ]
    for metric, labels in removals:
        with contextlib.suppress(KeyError):
            metric.remove(*labels)
