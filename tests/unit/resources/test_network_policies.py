"""The NetworkPolicies admit the intended peers and nobody else.

`admitted` evaluates them as a NetworkPolicy implementation does for ingress: a pod selected by
no policy is open; a selected pod admits a connection if any rule of any selecting policy does.
`may_send` does the same for egress, with the policies whose `policyTypes` name Egress.
"""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.resources import build_all
from tests.factory import contact_center
from tests.unit.resources.helpers import (
    Manifest,
    find,
    main_container,
    matches,
    of_kind,
    pod_labels,
)

OUTSIDE = None  # a client outside the namespace (a customer, Prometheus, another namespace)


def admitted(
    policies: list[Manifest],
    target: Manifest,
    source: Manifest | None,
    port_name: str,
) -> bool:
    """Whether `source`'s pods (same namespace) may open `port_name` on `target`'s pods."""
    labels = pod_labels(target)
    selecting = [p for p in policies if matches(p["spec"]["podSelector"]["matchLabels"], labels)]
    if not selecting:
        return True
    return any(
        _rule_admits(rule, source, port_name) for p in selecting for rule in p["spec"]["ingress"]
    )


def _rule_admits(rule: dict[str, Any], source: Manifest | None, port_name: str) -> bool:
    ports = [port["port"] for port in rule.get("ports", [])]
    if ports and port_name not in ports:
        return False
    if "from" not in rule:
        return True
    if source is None:
        return False  # every peer is a same-namespace podSelector
    return any(
        matches(peer["podSelector"]["matchLabels"], pod_labels(source)) for peer in rule["from"]
    )


def may_send(policies: list[Manifest], source: Manifest, port: int, protocol: str) -> bool:
    """Whether `source`'s pods may connect to `port`/`protocol` of an address outside."""
    labels = pod_labels(source)
    selecting = [
        p
        for p in policies
        if "Egress" in p["spec"]["policyTypes"]
        and matches(p["spec"]["podSelector"]["matchLabels"], labels)
    ]
    if not selecting:
        return True
    return any(
        "to" not in rule
        and any(p["port"] == port and p["protocol"] == protocol for p in rule["ports"])
        for policy in selecting
        for rule in policy["spec"]["egress"]
    )


@pytest.fixture(scope="module")
def objects() -> list[Manifest]:
    return build_all(contact_center())


def _workloads(objects: list[Manifest]) -> dict[str, Manifest]:
    return {
        name: find(objects, kind, f"acme-{name}")
        for kind, name in [
            ("Deployment", "web"),
            ("Deployment", "bot"),
            ("Deployment", "agents"),
            ("StatefulSet", "queue"),
            ("StatefulSet", "database"),
        ]
    }


def test_every_pod_of_the_instance_is_selected(objects: list[Manifest]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    deny = find(policies, "NetworkPolicy", "acme-default-deny")
    assert deny["spec"]["ingress"] == [] and deny["spec"]["policyTypes"] == ["Ingress"]
    for workload in _workloads(objects).values():
        assert matches(deny["spec"]["podSelector"]["matchLabels"], pod_labels(workload))


@pytest.mark.parametrize(
    ("target", "port", "allowed_sources"),
    [
        ("web", "http", {"web", "bot", "agents", "queue", "database", OUTSIDE}),
        ("agents", "http", {"web", "bot", "agents", "queue", "database", OUTSIDE}),
        ("bot", "http", {"web", "agents"}),
        ("queue", "amqp", {"web", "bot", "agents"}),
        ("database", "postgresql", {"web", "bot", "agents"}),
    ],
)
def test_each_tier_admits_exactly_its_clients(
    objects: list[Manifest], target: str, port: str, allowed_sources: set[str | None]
) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    workloads = _workloads(objects)
    container_ports = {p["name"] for p in main_container(workloads[target])["ports"]}
    assert port in container_ports
    for source in [*workloads, OUTSIDE]:
        source_workload = workloads[source] if source is not OUTSIDE else None
        assert admitted(policies, workloads[target], source_workload, port) == (
            source in allowed_sources
        ), f"{source} -> {target}:{port}"


@pytest.mark.parametrize("target", ["web", "bot", "agents"])
def test_prometheus_may_scrape_the_app_tiers(objects: list[Manifest], target: str) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    assert admitted(policies, _workloads(objects)[target], OUTSIDE, "metrics")


def test_no_other_port_is_open(objects: list[Manifest]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    for target in _workloads(objects).values():
        assert not admitted(policies, target, OUTSIDE, "ssh")


def test_another_contact_center_in_the_namespace_cannot_reach_the_data(
    objects: list[Manifest],
) -> None:
    intruder = find(build_all(contact_center(name="other")), "Deployment", "other-web")
    policies = of_kind(objects, "NetworkPolicy")
    workloads = _workloads(objects)
    assert not admitted(policies, workloads["database"], intruder, "postgresql")
    assert not admitted(policies, workloads["queue"], intruder, "amqp")
    assert not admitted(policies, workloads["bot"], intruder, "http")


@pytest.mark.parametrize("tier", ["queue", "database"])
def test_the_data_tiers_send_nothing_but_name_lookups(objects: list[Manifest], tier: str) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    data = _workloads(objects)[tier]
    assert may_send(policies, data, 53, "UDP") and may_send(policies, data, 53, "TCP")
    for port, protocol in [(443, "TCP"), (80, "TCP"), (5432, "TCP"), (123, "UDP")]:
        assert not may_send(policies, data, port, protocol), f"{tier} -> {port}/{protocol}"


@pytest.mark.parametrize("tier", ["web", "bot", "agents"])
def test_the_app_tiers_reach_what_the_operator_cannot_know(
    objects: list[Manifest], tier: str
) -> None:
    """External services, the model store and channel providers are anywhere."""
    policies = of_kind(objects, "NetworkPolicy")
    assert may_send(policies, _workloads(objects)[tier], 443, "TCP")


def test_external_services_need_no_policy() -> None:
    cc = contact_center(
        {
            "spec.queue": {"external": {"secretRef": {"name": "mq"}}},
            "spec.database": {"external": {"secretRef": {"name": "pg"}}},
        }
    )
    names = {p["metadata"]["name"] for p in of_kind(build_all(cc), "NetworkPolicy")}
    assert names == {"acme-default-deny", "acme-gateways", "acme-bot", "acme-agents"}


def test_under_internal_tls_the_tiers_reach_the_queue_on_its_tls_port_only() -> None:
    tls = {"secretRef": {"name": "web-tls"}, "internal": {"issuerRef": {"name": "ca"}}}
    built = build_all(contact_center({"spec.tls": tls}))
    policies = of_kind(built, "NetworkPolicy")
    workloads = _workloads(built)
    for client in ("web", "bot", "agents"):
        assert admitted(policies, workloads["queue"], workloads[client], "amqps")
        assert not admitted(policies, workloads["queue"], workloads[client], "amqp")
