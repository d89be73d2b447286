"""PodDisruptionBudgets: a drain takes at most one pod of a multi-replica workload at a time."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.agents import agents_name
from switchboard.resources.bot import bot_name
from switchboard.resources.channels import gateway_name
from switchboard.resources.common import (
    AGENTS,
    BOT,
    Component,
    Manifest,
    gateway_component,
    most_replicas,
    object_meta,
    selector_labels,
)


def build_disruption_budgets(cc: ContactCenter) -> list[Manifest]:
    """One budget per Deployment that may run more than one replica under its spec.

    Single-pod workloads (and the one-pod queue and database) get none: a budget there would
    either block every node drain or promise nothing.
    """
    spec = cc.spec
    workloads: list[tuple[str, Component, int]] = [
        (gateway_name(cc, channel), gateway_component(channel.name), channel.replicas)
        for channel in spec.channels
    ]
    workloads.append((bot_name(cc), BOT, most_replicas(spec.bot)))
    workloads.append((agents_name(cc), AGENTS, most_replicas(spec.agents)))
    return [
        disruption_budget(cc, name, component) for name, component, most in workloads if most > 1
    ]


def disruption_budget(cc: ContactCenter, name: str, component: Component) -> Manifest:
    """At most one pod of the workload down by eviction; unhealthy pods never block a drain."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(cc, name, component),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(cc, component)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
