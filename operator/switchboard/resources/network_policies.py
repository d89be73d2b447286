"""NetworkPolicies: nothing reaches this contact center's pods unless a tier needs it.

- every pod of the instance: no ingress by default;
- gateways and the agent workspace: their HTTP port from anywhere (customers, agents' desktops);
- the bot: HTTP only from the gateways and the agent workspace (agent assist);
- the queue and the database: only from the gateways, the bot and the agent workspace;
- the metrics port of gateways, bot and workspace: from anywhere, for Prometheus.

Egress is left open: external queues and databases, the model store and DNS live at addresses
the operator cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import HTTP_PORT_NAME, METRICS_PORT_NAME
from switchboard.resources.common import (
    AGENTS,
    COMPONENT_LABEL,
    CONTACT_CENTER,
    DATABASE,
    INSTANCE_LABEL,
    QUEUE,
    Component,
    Manifest,
    child_name,
    instance_selector,
    object_meta,
)
from switchboard.resources.database import PORT_NAME as DATABASE_PORT_NAME
from switchboard.resources.queue import PORT_NAME as QUEUE_PORT_NAME

GATEWAYS = Component("gateway", "switchboard-gateway")
BOTS = Component("bot", "switchboard-bot")


def component_pods(cc: ContactCenter, component: Component) -> dict[str, str]:
    """Labels of all pods of a component of this instance (every channel, every track)."""
    return {INSTANCE_LABEL: cc.name, COMPONENT_LABEL: component.name}


def build_network_policies(cc: ContactCenter) -> list[Manifest]:
    """The default deny and one allow-list per tier."""
    clients = [GATEWAYS, BOTS, AGENTS]
    policies = [
        _policy(cc, "default-deny", CONTACT_CENTER, instance_selector(cc), ingress=[]),
        _allow(cc, "gateways", GATEWAYS, [_rule(ports=[HTTP_PORT_NAME, METRICS_PORT_NAME])]),
        _allow(
            cc,
            "bot",
            BOTS,
            [
                _rule(ports=[HTTP_PORT_NAME], sources=[_peer(cc, GATEWAYS), _peer(cc, AGENTS)]),
                _rule(ports=[METRICS_PORT_NAME]),
            ],
        ),
        _allow(cc, "agents", AGENTS, [_rule(ports=[HTTP_PORT_NAME, METRICS_PORT_NAME])]),
    ]
    if cc.spec.queue.external is None:
        sources = [_peer(cc, client) for client in clients]
        policies.append(
            _allow(cc, QUEUE.name, QUEUE, [_rule(ports=[QUEUE_PORT_NAME], sources=sources)])
        )
    if cc.spec.database.external is None:
        sources = [_peer(cc, client) for client in clients]
        policies.append(
            _allow(
                cc, DATABASE.name, DATABASE, [_rule(ports=[DATABASE_PORT_NAME], sources=sources)]
            )
        )
    return policies


def _allow(
    cc: ContactCenter, suffix: str, component: Component, rules: Sequence[Mapping[str, Any]]
) -> Manifest:
    return _policy(cc, suffix, component, component_pods(cc, component), ingress=rules)


def _policy(
    cc: ContactCenter,
    suffix: str,
    component: Component,
    pods: Mapping[str, str],
    *,
    ingress: Sequence[Mapping[str, Any]],
) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(cc, child_name(cc, suffix), component),
        "spec": {
            "podSelector": {"matchLabels": dict(pods)},
            "policyTypes": ["Ingress"],
            "ingress": [dict(rule) for rule in ingress],
        },
    }


def _peer(cc: ContactCenter, component: Component) -> dict[str, Any]:
    """Pods of a component of this instance, in this namespace."""
    return {"podSelector": {"matchLabels": component_pods(cc, component)}}


def _rule(
    *, ports: Sequence[str], sources: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Ingress to the named ports, from `sources` (from anywhere when None)."""
    rule: dict[str, Any] = {"ports": [{"port": port, "protocol": "TCP"} for port in ports]}
    if sources is not None:
        rule["from"] = [dict(source) for source in sources]
    return rule
