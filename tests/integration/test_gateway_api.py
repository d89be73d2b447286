"""The bot's HTTPRoute where the cluster serves the Gateway API: the real CRDs of the Gateway
API's Go module (hack/build.sh puts them in bin/gateway-api-crds.yaml) installed in the local
cluster, an operator started after them, and a canary whose routing weights the HTTPRoute
follows. (A cluster without them is every other integration test: the operator makes no
HTTPRoute and reports no error.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client

from tests.factory import changed, valid_manifest
from tests.integration.contactcenters import apply, wait_for_condition
from tests.integration.kube import get, kubectl, restricted_namespace, wait_until
from tests.integration.operator import Operator, install_crd, install_optional_apis


@pytest.fixture(scope="module")
def gateway_api(kubeconfig: Path) -> None:
    """The Gateway API's standard CRDs, installed (and left: other tests do not mind them),
    and the ContactCenter's."""
    install_crd()
    install_optional_apis()


@pytest.fixture
def gw_namespace(client: Client) -> Iterator[str]:
    with restricted_namespace(client, "gw") as name:
        yield name


@pytest.fixture
def gateway_operator(gateway_api: None, tmp_path: Path) -> Iterator[Operator]:
    """An operator of its own for the `gw-*` namespaces, started once the API is served (the
    session's operator finds that out within a minute; this one at once)."""
    running = Operator(scope=["--namespace", "gw-*"], log_path=tmp_path / "operator.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def backends(namespace: str) -> dict[str, int] | None:
    route = get("httproute", namespace, "acme-bot")
    if route is None:
        return None
    return {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}


def routing(namespace: str) -> dict[str, int]:
    config_map = get("configmap", namespace, "acme-routing")
    assert config_map is not None
    document = json.loads(config_map["data"]["routing.json"])
    return {entry["track"]: entry["weight"] for entry in document["bot"]}


def model(version: str) -> dict[str, str]:
    return {
        "name": "intent-router",
        "version": version,
        "uri": f"https://models.example/intent-router/{version}.yaml",
    }


def test_the_http_route_carries_the_canary_s_weights(
    client: Client, gw_namespace: str, gateway_operator: Operator
) -> None:
    rollout = {"steps": [{"weight": 20, "pause": "1h"}, {"weight": 60, "pause": "1h"}]}
    manifest = changed(
        {"metadata.name": "acme", "spec.bot.model": model("1.0.0"), "spec.bot.rollout": rollout},
        valid_manifest(),
    )
    apply(gw_namespace, manifest)
    wait_for_condition(client, gw_namespace, "acme", "Ready", timeout=60)
    assert wait_until("the HTTPRoute", lambda: backends(gw_namespace)) == {"acme-bot": 100}
    route = get("httproute", gw_namespace, "acme-bot")
    assert route is not None
    assert route["spec"]["parentRefs"][0]["name"] == "acme-bot"
    assert route["metadata"]["ownerReferences"][0]["kind"] == "ContactCenter"

    # A new model: the canary starts at its first step, in the routing file and the HTTPRoute.
    apply(gw_namespace, changed({"spec.bot.model": model("2.0.0")}, manifest))
    wait_until(
        "the canary at its first step in the routing file",
        lambda: routing(gw_namespace) == {"stable": 80, "canary": 20},
        timeout=60,
    )
    assert wait_until(
        "the HTTPRoute at the same weights",
        lambda: backends(gw_namespace) == {"acme-bot": 80, "acme-bot-canary": 20},
    )
    assert get("service", gw_namespace, "acme-bot-canary") is not None

    # Someone edits the weights: the operator puts its own back.
    patch = {"spec": {"rules": [{"backendRefs": [{"name": "acme-bot", "port": 8080}]}]}}
    edited = kubectl(
        "patch",
        "httproute",
        "acme-bot",
        "-n",
        gw_namespace,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )
    assert edited.returncode == 0, edited.stderr
    wait_until(
        "the HTTPRoute restored",
        lambda: backends(gw_namespace) == {"acme-bot": 80, "acme-bot-canary": 20},
    )

    # Aborted: the canary takes no new conversations, its backend goes to 0 while it drains.
    kubectl("annotate", "contactcenter", "acme", "-n", gw_namespace, "switchboard.io/rollout=abort")
    wait_until(
        "the abort in the routing file and the HTTPRoute",
        lambda: (
            routing(gw_namespace) == {"stable": 100}
            and backends(gw_namespace)
            in ({"acme-bot": 100, "acme-bot-canary": 0}, {"acme-bot": 100})
        ),
        timeout=60,
    )
    log = gateway_operator.log_path.read_text()
    assert "Traceback" not in log, log
