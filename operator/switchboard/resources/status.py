"""The ContactCenter's status, built from what the cluster shows (pure, no I/O) as the API's
status models, so that what is written is what the schema describes.

`Ready` summarises the components and is never stored apart from them; a condition's
`lastTransitionTime` moves only when its status flips.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.api.channels import SERVED_CHANNEL_TYPES, Channel
from switchboard.api.status import ComponentStatus, Condition, ContactCenterStatus


@dataclass(frozen=True)
class Problem:
    """Something the schema could not catch, shown as the Degraded condition."""

    reason: str  # CamelCase, e.g. SecretNotFound
    message: str  # what happened and what to do, for a person


@dataclass(frozen=True)
class Assessment:
    """What a condition says now; `set_condition` decides whether it is a transition."""

    type: str
    status: bool
    reason: str
    message: str


@dataclass(frozen=True)
class ComponentReadiness:
    kind: str
    ready: int
    desired: int
    rolled_out: bool  # the newest spec is fully rolled out and available
    message: str | None

    def as_status(self) -> ComponentStatus:
        return ComponentStatus.model_validate(
            {
                "kind": self.kind,
                "ready": self.ready,
                "desired": self.desired,
                "message": self.message or None,
            }
        )


def without_adapter(readiness: ComponentReadiness, channel: Channel) -> ComponentReadiness:
    """A gateway of a channel type Switchboard has no adapter for (email, voice, video, app)
    says so in its status."""
    if channel.type in SERVED_CHANNEL_TYPES:
        return readiness
    note = f"the {channel.type} provider adapter is not built yet: this gateway serves no customers"
    message = f"{readiness.message}; {note}" if readiness.message else note
    return dataclasses.replace(readiness, message=message)


def workload_readiness(kind: str, live: Mapping[str, Any] | None) -> ComponentReadiness:
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
    conditions: Sequence[Condition],
    assessment: Assessment,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """`conditions` with the assessed one set; lastTransitionTime kept unless the status
    flips."""
    value = "True" if assessment.status else "False"
    previous = next((c for c in conditions if c.type == assessment.type), None)
    since = previous.last_transition_time if previous and previous.status == value else now
    condition = Condition(
        type=assessment.type,
        status=value,
        reason=assessment.reason,
        message=assessment.message,
        observed_generation=generation,
        last_transition_time=since,
    )
    others = [c for c in conditions if c.type != assessment.type]
    return sorted([*others, condition], key=lambda c: c.type)


def compute_status(
    current: ContactCenterStatus,
    generation: int | None,
    channels: int,
    components: Mapping[str, ComponentReadiness],
    problems: Sequence[Problem],
    now: datetime,
) -> ContactCenterStatus:
    """The status to store: the current one with observedGeneration, components and the
    Ready/Progressing/Degraded conditions brought up to date. Other fields (sla, rollout,
    conditions owned by other loops) are kept as they are."""
    waiting = [
        f"{name} ({readiness.message})"
        for name, readiness in sorted(components.items())
        if not readiness.rolled_out
    ]
    if problems:
        messages = "; ".join(p.message for p in problems)
        degraded = Assessment("Degraded", True, problems[0].reason, messages)
    else:
        degraded = Assessment("Degraded", False, "AsExpected", "")
    progressing = Assessment(
        "Progressing",
        bool(waiting),
        "RollingOut" if waiting else "RolledOut",
        ("waiting for " + ", ".join(waiting))
        if waiting
        else "every component runs the current spec",
    )
    if problems:
        ready = Assessment("Ready", False, problems[0].reason, problems[0].message)
    elif waiting:
        ready = Assessment(
            "Ready", False, "ComponentsNotReady", "waiting for " + ", ".join(waiting)
        )
    else:
        ready = Assessment("Ready", True, "AllComponentsReady", "every component is available")
    conditions = list(current.conditions)
    for assessment in (degraded, progressing, ready):
        conditions = set_condition(conditions, assessment, generation, now)
    return current.model_copy(
        update={
            "observed_generation": generation,
            "channels": channels,
            "components": {name: r.as_status() for name, r in sorted(components.items())},
            "conditions": conditions,
        }
    )


def status_document(status: ContactCenterStatus) -> dict[str, Any]:
    """The status as the apiserver stores it: camelCase, unknown values left out."""
    return status.model_dump(by_alias=True, exclude_none=True, mode="json")


def degraded(status: ContactCenterStatus) -> Problem | None:
    """The problem the Degraded condition reports, if it is True."""
    for condition in status.conditions:
        if condition.type == "Degraded" and condition.status == "True":
            return Problem(condition.reason, condition.message)
    return None
