"""The PodMonitor scrapes exactly the pods that export the metrics contract, on their metrics
port, as often as the autoscaler reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.resources import build_all
from switchboard.resources.pod_monitor import build_pod_monitor
from tests.factory import contact_center, example
from tests.unit.resources.helpers import WORKLOAD_KINDS, main_container, pod_labels


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector's meaning (matchLabels, and matchExpressions with In)."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_it_selects_the_gateways_bot_and_agents_and_nothing_else() -> None:
    cc = example("omnichannel")
    monitor = build_pod_monitor(cc)
    workloads = [o for o in build_all(cc) if o["kind"] in WORKLOAD_KINDS]
    scraped = {
        w["metadata"]["name"]
        for w in workloads
        if selects(monitor["spec"]["selector"], pod_labels(w))
    }
    expected = {f"omnichannel-{channel.name}" for channel in cc.spec.channels}
    expected |= {"omnichannel-bot", "omnichannel-agents"}
    assert scraped == expected  # not the queue's nor the database's pods
    other = contact_center()  # another ContactCenter, in the same namespace
    assert not any(
        selects(monitor["spec"]["selector"], pod_labels(w))
        for w in build_all(other)
        if w["kind"] in WORKLOAD_KINDS
    ), "another ContactCenter's pods are its own PodMonitor's"


def test_it_scrapes_the_port_the_pods_name_as_often_as_the_autoscaler_reads() -> None:
    cc = example("omnichannel")  # metrics.interval: 30s
    (endpoint,) = build_pod_monitor(cc)["spec"]["podMetricsEndpoints"]
    assert endpoint["interval"] == "30s"
    for workload in build_all(cc):
        if workload["kind"] == "Deployment":
            ports = {p["name"] for p in main_container(workload)["ports"]}
            assert endpoint["port"] in ports, workload["metadata"]["name"]
