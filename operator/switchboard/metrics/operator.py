"""The operator's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
