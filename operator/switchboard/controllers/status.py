"""The ContactCenter's status, computed from what the cluster shows (pure, no I/O).

`Ready` summarises the components and is never stored apart from them; a condition's
`lastTransitionTime` moves only when its status flips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Manifest = Mapping[str, Any]


@dataclass(frozen=True)
class Problem:
    """Something the schema could not catch, shown as the Degraded condition."""

    reason: str  # CamelCase, e.g. SecretNotFound
    message: str  # what happened and what to do, for a person


@dataclass(frozen=True)
class ComponentReadiness:
    kind: str
    ready: int
    desired: int
    rolled_out: bool  # the newest spec is fully rolled out and available
    message: str | None

    def as_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"kind": self.kind, "ready": self.ready, "desired": self.desired}
        if self.message:
            status["message"] = self.message
        return status


def workload_readiness(kind: str, live: Manifest | None) -> ComponentReadiness:
    """Readiness of a Deployment or StatefulSet as the controllers report it."""
    if live is None:
        return ComponentReadiness(kind, 0, 0, False, "not created yet")
    spec, status = live.get("spec", {}), live.get("status", {})
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("availableReplicas", status.get("readyReplicas", 0)) or 0)
    observed = status.get("observedGeneration", 0) >= live.get("metadata", {}).get("generation", 0)
    updated = int(status.get("updatedReplicas", 0) or 0) >= desired
    if kind == "StatefulSet" and status.get("updateRevision"):
        updated = updated and status.get("currentRevision") == status.get("updateRevision")
    surplus = int(status.get("replicas", desired) or 0) > desired  # old pods still running
    rolled_out = observed and updated and ready >= desired and not surplus
    message = (
        None if rolled_out else f"{ready}/{desired} ready" + (", updating" if not updated else "")
    )
    return ComponentReadiness(kind, ready, desired, rolled_out, message)


def external_readiness() -> ComponentReadiness:
    return ComponentReadiness("External", 0, 0, True, None)


def set_condition(
    conditions: Sequence[Mapping[str, Any]],
    type_: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: str,
) -> list[dict[str, Any]]:
    """`conditions` with `type_` set; lastTransitionTime kept unless the status flips."""
    value = "True" if status else "False"
    previous = next((c for c in conditions if c.get("type") == type_), None)
    since = previous["lastTransitionTime"] if previous and previous.get("status") == value else now
    condition: dict[str, Any] = {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    others = [dict(c) for c in conditions if c.get("type") != type_]
    return sorted([*others, condition], key=lambda c: str(c["type"]))


def compute_status(
    current: Mapping[str, Any],
    generation: int | None,
    channels: int,
    components: Mapping[str, ComponentReadiness],
    problems: Sequence[Problem],
    now: str,
) -> dict[str, Any]:
    """The status to store: the current one with observedGeneration, components and the
    Ready/Progressing/Degraded conditions brought up to date. Other fields (sla, rollout,
    conditions owned by other loops) are kept as they are."""
    waiting = [
        f"{name} ({readiness.message})"
        for name, readiness in sorted(components.items())
        if not readiness.rolled_out
    ]
    conditions: list[dict[str, Any]] = list(current.get("conditions", []))
    if problems:
        conditions = set_condition(
            conditions,
            "Degraded",
            True,
            problems[0].reason,
            "; ".join(p.message for p in problems),
            generation,
            now,
        )
    else:
        conditions = set_condition(conditions, "Degraded", False, "AsExpected", "", generation, now)
    conditions = set_condition(
        conditions,
        "Progressing",
        bool(waiting),
        "RollingOut" if waiting else "RolledOut",
        ("waiting for " + ", ".join(waiting))
        if waiting
        else "every component runs the current spec",
        generation,
        now,
    )
    if problems:
        ready, reason, message = False, problems[0].reason, problems[0].message
    elif waiting:
        ready, reason, message = False, "ComponentsNotReady", "waiting for " + ", ".join(waiting)
    else:
        ready, reason, message = True, "AllComponentsReady", "every component is available"
    conditions = set_condition(conditions, "Ready", ready, reason, message, generation, now)
    return {
        **current,
        "observedGeneration": generation,
        "channels": channels,
        "components": {name: r.as_status() for name, r in sorted(components.items())},
        "conditions": conditions,
    }
