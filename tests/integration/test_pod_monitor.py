"""A ContactCenter's PodMonitor where the cluster runs the Prometheus Operator: the real CRD of
its Go module (hack/build.sh puts it in bin/prometheus-operator-crds.yaml) installed in the
local cluster, an operator started after it, and the PodMonitor it makes. (A cluster without the
CRD is every test before this one: the operator makes no PodMonitor and reports no error.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client

from tests.factory import valid_manifest
from tests.integration.contactcenters import apply, wait_for_condition
from tests.integration.kube import get, kubectl, restricted_namespace, wait_until
from tests.integration.operator import Operator, install_crd, install_optional_apis, metric_sum


@pytest.fixture(scope="module")
def prometheus_operator_api(kubeconfig: Path) -> None:
    """The PodMonitor CRD (with the other optional APIs), installed and left."""
    install_crd()
    install_optional_apis()


@pytest.fixture
def pm_namespace(client: Client) -> Iterator[str]:
    with restricted_namespace(client, "pm") as name:
        yield name


def test_the_operator_makes_a_pod_monitor_where_the_api_is_served(
    prometheus_operator_api: None, pm_namespace: str, client: Client, tmp_path: Path
) -> None:
    operator = Operator(scope=["--namespace", "pm-*"], log_path=tmp_path / "operator.log")
    operator.start()
    try:
        apply(pm_namespace, valid_manifest("scraped"))
        monitor = wait_until(
            "the PodMonitor", lambda: get("podmonitor", pm_namespace, "scraped-metrics"), timeout=60
        )
        selector = monitor["spec"]["selector"]
        assert selector["matchLabels"]["app.kubernetes.io/instance"] == "scraped"
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
        owners = monitor["metadata"]["ownerReferences"]
        assert [owner["kind"] for owner in owners] == ["ContactCenter"]
        # The pods it selects are the ContactCenter's gateway, bot and agents.
        listed = kubectl(
            "get",
            "deployments",
            "-n",
            pm_namespace,
            "-l",
            "app.kubernetes.io/instance=scraped",
            "-o",
            "json",
        )
        deployments = json.loads(listed.stdout)["items"]
        components = {
            d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
            for d in deployments
        }
        assert components == set(selector["matchExpressions"][0]["values"])
        wait_for_condition(client, pm_namespace, "scraped", "Ready", timeout=60)
        assert metric_sum(operator.metrics(), "switchboard_reconcile_errors_total") == 0
    finally:
        operator.stop()
