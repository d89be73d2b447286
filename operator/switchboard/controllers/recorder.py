"""The last step of a reconcile: status, patched only where it changed (an idle operator writes
nothing), and a new problem announced as an event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import ContactCenterStatus, QualityStatus
from switchboard.controllers.autoscale import AutoscaleOutcome
from switchboard.controllers.caches import Caches, ChildKey, Key, child_key
from switchboard.controllers.kube import Kube
from switchboard.resources import build_all
from switchboard.resources.common import Manifest
from switchboard.resources.drift import merge_patch
from switchboard.resources.status import (
    Assessment,
    ComponentReadiness,
    Problem,
    compute_status,
    degraded,
    external_readiness,
    set_condition,
    status_document,
    without_adapter,
    workload_readiness,
)
from switchboard.rollout.machine import Plan

WORKLOAD_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class Recorder:
    kube: Kube
    caches: Caches
    # The autoscaler's latest outcome per ContactCenter: status is written here only, so two
    # loops never race over the conditions list.
    autoscaled: Mapping[Key, AutoscaleOutcome]
    # The quality loop's latest figures that differ from status, likewise.
    quality: Mapping[Key, QualityStatus]

    def components(
        self,
        cc: ContactCenter,
        applied: Mapping[ChildKey, Manifest],
        desired: Iterable[Manifest] | None = None,
    ) -> dict[str, ComponentReadiness]:
        """Readiness of each component, from the workloads just applied or else cached."""
        components: dict[str, ComponentReadiness] = {}
        for manifest in desired if desired is not None else build_all(cc):
            if manifest["kind"] not in WORKLOAD_KINDS:
                continue
            key = child_key(manifest)
            live = applied.get(key) or self.caches.child(key)
            component = manifest["metadata"]["name"].removeprefix(f"{cc.name}-")
            components[component] = workload_readiness(manifest["kind"], live)
        for channel in cc.spec.channels:
            if channel.name in components:
                components[channel.name] = without_adapter(components[channel.name], channel)
        for component, service in (("queue", cc.spec.queue), ("database", cc.spec.database)):
            if service.external is not None:
                components[component] = external_readiness()
        return components

    async def record(
        self,
        body: Manifest,
        cc: ContactCenter | None,
        problems: list[Problem],
        components: Mapping[str, ComponentReadiness],
        rollout: Plan | None = None,
    ) -> None:
        """Patches status, only when it changed; announces a new problem as an event.
        `rollout`: the plan just applied, whose status and RolloutHealthy are recorded."""
        meta = body["metadata"]
        stored = body.get("status") or {}
        current = ContactCenterStatus.model_validate(stored)
        generation = meta.get("generation")
        now = datetime.now(UTC)
        channels = len(cc.spec.channels) if cc else len(body.get("spec", {}).get("channels", []))
        status = compute_status(current, generation, channels, components, problems, now)
        outcome = self.autoscaled.get((meta["namespace"], meta["name"]))
        if outcome is not None:
            conditions = status.conditions
            for assessment in outcome.conditions:
                conditions = set_condition(conditions, assessment, generation, now)
            status = status.model_copy(update={"sla": outcome.sla, "conditions": conditions})
        figures = self.quality.get((meta["namespace"], meta["name"]))
        if figures is not None:
            status = status.model_copy(update={"quality": figures})
        if rollout is not None:
            health = rollout.health
            healthy = Assessment("RolloutHealthy", health.healthy, health.reason, health.message)
            conditions = set_condition(status.conditions, healthy, generation, now)
            status = status.model_copy(update={"rollout": rollout.status, "conditions": conditions})
        patch = merge_patch(stored, status_document(status))
        if not patch:
            return
        key = (meta["namespace"], meta["name"])
        written = await self.kube.patch_status(*key, patch)
        if written is not None:
            self.caches.status_written[key] = written
        if problems and degraded(current) != problems[0]:
            await self.kube.event(body, "Warning", problems[0].reason, problems[0].message)
