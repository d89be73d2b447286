"""The PodMonitor of a ContactCenter, where the cluster runs the Prometheus Operator: its
gateways, bot and agents export the metrics contract (docs/metrics.md) on their metrics port,
and the operator's SLA autoscaler and canary analysis read them back from Prometheus.

The queue and database are not scraped by it: their own exporters are theirs to choose.
"""

from __future__ import annotations

import math

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import duration_seconds
from switchboard.resources.app import METRICS_PORT_NAME
from switchboard.resources.common import (
    AGENTS,
    BOT,
    COMPONENT_LABEL,
    CONTACT_CENTER,
    GATEWAY,
    INSTANCE_LABEL,
    PART_OF,
    PART_OF_LABEL,
    Manifest,
    child_name,
    object_meta,
)

SCRAPED_COMPONENTS = (GATEWAY, BOT.name, AGENTS.name)


def pod_monitor_name(cc: ContactCenter) -> str:
    return child_name(cc, "metrics")


def build_pod_monitor(cc: ContactCenter) -> Manifest:
    """Scrapes the contract every `spec.metrics.interval` (whole seconds, as the Prometheus
    Operator's durations allow): the autoscaler reads at that pace, so a slower scrape would
    leave it deciding on stale counts."""
    interval = max(1, math.ceil(duration_seconds(cc.spec.metrics.interval)))
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": object_meta(cc, pod_monitor_name(cc), CONTACT_CENTER),
        "spec": {
            "selector": {
                "matchLabels": {INSTANCE_LABEL: cc.name, PART_OF_LABEL: PART_OF},
                "matchExpressions": [
                    {
                        "key": COMPONENT_LABEL,
                        "operator": "In",
                        "values": list(SCRAPED_COMPONENTS),
                    }
                ],
            },
            "podMetricsEndpoints": [
                {"port": METRICS_PORT_NAME, "path": "/metrics", "interval": f"{interval}s"}
            ],
        },
    }
