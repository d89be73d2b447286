"""NetworkPolicies: nothing reaches this contact center's pods unless a tier needs it.

- every pod of the instance: no ingress by default;
- gateways and the agent workspace: their HTTP port from anywhere (customers, agents' desktops),
  and an email gateway's SMTP port (the mail of customers, through the domain's MX);
- the bot: HTTP only from the gateways and the agent workspace (agent assist);
- the queue and the database: only from the gateways, the bot and the agent workspace (and the
  database from the retention job, when there is one);
- the metrics port of gateways, bot and workspace: from anywhere, for Prometheus.

Egress of the built-in queue and database, which hold the conversations and answer only, is DNS
alone: a compromised data pod cannot send what it holds anywhere. The other tiers' egress is left
open: external queues and databases, the model store and the channels' providers live at
addresses the operator cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import HTTP_PORT_NAME, METRICS_PORT_NAME, SMTP_PORT_NAME
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
from switchboard.resources.queue import TLS_PORT_NAME as QUEUE_TLS_PORT_NAME
from switchboard.resources.retention import RETENTION
from switchboard.resources.tls import internal_tls_secret_name

GATEWAYS = Component("gateway", "switchboard-gateway")
BOTS = Component("bot", "switchboard-bot")
# Name lookups to any resolver: the cluster DNS runs where the operator cannot know.
DNS_ONLY = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def component_pods(cc: ContactCenter, component: Component) -> dict[str, str]:
    """Labels of all pods of a component of this instance (every channel, every track)."""
    return {INSTANCE_LABEL: cc.name, COMPONENT_LABEL: component.name}


def build_network_policies(cc: ContactCenter) -> list[Manifest]:
    """The default deny and one allow-list per tier."""
    policies = [
        _policy(cc, "default-deny", CONTACT_CENTER, instance_selector(cc), ingress=[]),
        _allow(
            cc,
            "gateways",
            GATEWAYS,
            [_rule(ports=[HTTP_PORT_NAME, METRICS_PORT_NAME, SMTP_PORT_NAME])],
        ),
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
    clients = [_peer(cc, client) for client in (GATEWAYS, BOTS, AGENTS)]
    built_in_data_tiers = [
        # Under internal TLS, only the queue's TLS port is open to the tiers.
        (
            QUEUE,
            QUEUE_TLS_PORT_NAME if internal_tls_secret_name(cc) else QUEUE_PORT_NAME,
            cc.spec.queue.external,
        ),
        (DATABASE, DATABASE_PORT_NAME, cc.spec.database.external),
    ]
    for component, port, external in built_in_data_tiers:
        if external is None:
            sources = list(clients)
            if component is DATABASE and cc.spec.data_protection.retention is not None:
                sources.append(_peer(cc, RETENTION))
            rules = [_rule(ports=[port], sources=sources)]
            policies.append(_allow(cc, component.name, component, rules, egress=[DNS_ONLY]))
    return policies


def _allow(
    cc: ContactCenter,
    suffix: str,
    component: Component,
    rules: Sequence[Mapping[str, Any]],
    *,
    egress: Sequence[Mapping[str, Any]] | None = None,
) -> Manifest:
    pods = component_pods(cc, component)
    return _policy(cc, suffix, component, pods, ingress=rules, egress=egress)


def _policy(
    cc: ContactCenter,
    suffix: str,
    component: Component,
    pods: Mapping[str, str],
    *,
    ingress: Sequence[Mapping[str, Any]],
    egress: Sequence[Mapping[str, Any]] | None = None,
) -> Manifest:
    """Ingress limited to `ingress`; egress too when `egress` is given (else left open)."""
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": dict(pods)},
        "policyTypes": ["Ingress"],
        "ingress": [dict(rule) for rule in ingress],
    }
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = [dict(rule) for rule in egress]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(cc, child_name(cc, suffix), component),
        "spec": spec,
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
