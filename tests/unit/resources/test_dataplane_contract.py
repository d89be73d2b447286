"""The operator↔data-plane contract: every variable a role reads, the operator renders for it.

Each Switchboard Deployment's environment is resolved as a kubelet would (the wiring ConfigMap,
Secret keys, the pod's own name) and handed to the role's own reader, which fails on anything
missing or malformed; the values it reads back are the spec's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from switchboard.api.contactcenter import ContactCenter
from switchboard.dataplane.wiring import (
    read_agents_wiring,
    read_bot_wiring,
    read_gateway_wiring,
    read_handoff_wiring,
    read_wiring,
)
from switchboard.resources import build_all, generated_secret_names
from switchboard.resources.secrets import referenced_secrets
from tests.factory import contact_center, example
from tests.unit.resources.helpers import find, main_container, of_kind

WITH_API = {
    "spec.channels": [{"name": "web", "type": "webchat"}, {"name": "partners", "type": "api"}],
    "spec.bot.handoff": {
        "confidenceThreshold": 0.55,
        "maxFailedTurns": 3,
        "sentimentThreshold": -0.6,
        "channels": [{"name": "partners", "sentimentDrop": 1.0, "clarify": True}],
    },
    "spec.agents.offerTimeout": "45s",
}


def kubelet_environment(
    cc: ContactCenter, objects: list[dict[str, Any]], workload: Mapping[str, Any]
) -> dict[str, str]:
    """The container's environment as the kubelet builds it; a Secret key reads as
    `secret:<name>/<key>` after checking the Secret is one the operator makes or the spec
    names."""
    known_secrets = set(generated_secret_names(cc).values()) | {
        name for name, _ in referenced_secrets(cc)
    }
    container = main_container(dict(workload))
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment |= find(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
    for variable in container["env"]:
        if "value" in variable:
            environment[variable["name"]] = variable["value"]
            continue
        reference = variable["valueFrom"]
        if "secretKeyRef" in reference:
            secret = reference["secretKeyRef"]
            assert secret["name"] in known_secrets, f"{variable['name']}: {secret['name']}"
            environment[variable["name"]] = f"secret:{secret['name']}/{secret['key']}"
        else:
            assert reference == {"fieldRef": {"fieldPath": "metadata.name"}}
            environment[variable["name"]] = "pod-0"
    return environment


def switchboard_workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d
        for d in of_kind(objects, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in ("gateway", "bot", "agents")
    ]


@pytest.mark.parametrize(
    "cc",
    [example("quickstart"), example("omnichannel"), contact_center(WITH_API)],
    ids=["quickstart", "omnichannel", "with-api"],
)
def test_every_role_reads_its_whole_wiring_from_what_the_operator_renders(
    cc: ContactCenter,
) -> None:
    objects = build_all(cc)
    for workload in switchboard_workloads(objects):
        environment = kubelet_environment(cc, objects, workload)
        (role,) = main_container(workload)["args"]
        wiring = read_wiring(environment)
        assert (wiring.contact_center, wiring.namespace) == (cc.name, cc.namespace)
        assert wiring.replica == "pod-0"
        if role == "gateway":
            read_gateway_wiring(environment)
        elif role == "bot":
            read_bot_wiring(environment)
            read_handoff_wiring(environment)
        else:
            assert role == "agents"
            read_agents_wiring(environment)


def test_the_spec_reaches_the_roles_as_written() -> None:
    cc = contact_center(WITH_API)
    objects = build_all(cc)
    bot = kubelet_environment(cc, objects, find(objects, "Deployment", "acme-bot"))
    handoff = read_handoff_wiring(bot)
    default = handoff.policy("web")
    assert default == handoff.default
    assert (default.confidence_threshold, default.ambiguity_margin) == (0.55, 0.1)
    assert (default.max_failed_turns, default.sentiment_threshold) == (3, -0.6)
    assert (default.sentiment_drop, default.clarify) == (2.0, False)
    # the override's settings on its channel, the rest as the default's
    partners = dataclasses.replace(default, sentiment_drop=1.0, clarify=True)
    assert handoff.policy("partners") == partners
    assert read_bot_wiring(bot).concurrency == cc.spec.bot.concurrency
    agents = read_agents_wiring(
        kubelet_environment(cc, objects, find(objects, "Deployment", "acme-agents"))
    )
    assert agents.offer_timeout_seconds == 45.0
    assert agents.agent_token == "secret:acme-agents-token/token"
    api = read_gateway_wiring(
        kubelet_environment(cc, objects, find(objects, "Deployment", "acme-partners"))
    )
    assert (api.channel_type, api.api_token) == ("api", "secret:acme-partners-token/token")
    web = read_gateway_wiring(
        kubelet_environment(cc, objects, find(objects, "Deployment", "acme-web"))
    )
    assert web.api_token is None


def test_a_model_in_a_config_map_is_mounted_where_the_bot_looks_for_it() -> None:
    cc = contact_center({"spec.bot.model.uri": "configmap://telco-support-2.0.0/model.yaml"})
    objects = build_all(cc)
    bot = find(objects, "Deployment", "acme-bot")
    model_dir = read_bot_wiring(kubelet_environment(cc, objects, bot)).model_dir
    volumes = {v["name"]: v for v in bot["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m for m in main_container(bot)["volumeMounts"]}
    assert volumes["model"]["configMap"]["name"] == "telco-support-2.0.0"
    assert mounts["model"]["mountPath"] == f"{model_dir}/telco-support-2.0.0"
    assert mounts["model"]["readOnly"] is True
    https = contact_center({"spec.bot.model.uri": "https://models.example/telco/2.0.0.yaml"})
    assert "model" not in {
        v["name"]
        for v in find(build_all(https), "Deployment", "acme-bot")["spec"]["template"]["spec"][
            "volumes"
        ]
    }
