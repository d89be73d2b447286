"""One reconcile of a ContactCenter: read what is there, build what should be, apply only
what differs, and record the outcome in status and events.

Everything the operator reads comes from watch caches (filled by the kopf handlers) with a
fallback to a GET, so a restarted or idle operator compares and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lightkube import ApiError
from pydantic import ValidationError

from switchboard.api.contactcenter import ContactCenter
from switchboard.controllers.drift import difference, merge_patch, quantity_amount
from switchboard.controllers.kube import Kube, Manifest
from switchboard.controllers.status import (
    ComponentReadiness,
    Problem,
    compute_status,
    external_readiness,
    set_condition,
    workload_readiness,
)
from switchboard.metrics import operator as metrics
from switchboard.resources import build_all, build_volume_expansions
from switchboard.resources.decisions import Decisions
from switchboard.resources.secrets import build_generated_secrets, generated_secret_names

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
ChildKey = tuple[str, str, str]  # (kind, namespace, name)

# Kinds the operator applies and watches for drift; Secrets are created once, never watched.
WATCHED_KINDS = (
    "ConfigMap",
    "Service",
    "Deployment",
    "StatefulSet",
    "NetworkPolicy",
    "PodDisruptionBudget",
)
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
API_VERSIONS = {
    "ConfigMap": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
}
INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_BY = {"app.kubernetes.io/managed-by": "switchboard"}
WAIT_FOR_PREREQUISITES_SECONDS = 5.0
PASSWORD_BYTES = 32


@dataclass(frozen=True)
class AutoscaleOutcome:
    """What the autoscaler decided for one ContactCenter, for the reconcile to apply and record."""

    replicas: Mapping[str, int]
    sla: Mapping[str, Any]
    # (type, status, reason, message) of the conditions the autoscaler owns.
    conditions: tuple[tuple[str, bool, str, str], ...] = ()


@dataclass
class Caches:
    """The latest body of every ContactCenter and of every child, as the watches saw them."""

    contact_centers: dict[Key, Manifest] = field(default_factory=dict)
    children: dict[ChildKey, Manifest] = field(default_factory=dict)
    # Children by (namespace, instance label): a reconcile looks at its own, not at all.
    by_instance: dict[Key, set[ChildKey]] = field(default_factory=dict)
    # Namespaces whose children were listed once; the watches keep them current since, so
    # a miss there means the object does not exist (no GET needed to find that out).
    listed_namespaces: set[str] = field(default_factory=set)

    def put_child(self, body: Mapping[str, Any]) -> None:
        key = child_key(body)
        self.children[key] = dict(body)
        instance = body["metadata"].get("labels", {}).get(INSTANCE_LABEL)
        if instance:
            self.by_instance.setdefault((key[1], instance), set()).add(key)

    def remove_child(self, key: ChildKey) -> None:
        body = self.children.pop(key, None)
        instance = (body or {}).get("metadata", {}).get("labels", {}).get(INSTANCE_LABEL)
        if instance:
            self.by_instance.get((key[1], instance), set()).discard(key)

    def children_of(self, cc: ContactCenter) -> Iterable[Manifest]:
        for key in list(self.by_instance.get((cc.namespace, cc.name), ())):
            body = self.children.get(key)
            if body is not None and any(
                ref.get("uid") == cc.metadata.uid
                for ref in body["metadata"].get("ownerReferences", [])
            ):
                yield body


def child_key(manifest: Mapping[str, Any]) -> ChildKey:
    meta = manifest["metadata"]
    return (manifest["kind"], meta["namespace"], meta["name"])


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    def __init__(self, kube: Kube, caches: Caches) -> None:
        self.kube = kube
        self.caches = caches
        # The autoscaler's latest outcome per ContactCenter: status is written here only,
        # so two loops never race over the conditions list.
        self.autoscaled: dict[Key, AutoscaleOutcome] = {}
        # Generated Secrets known to exist, and whether they carry an owner reference: they are
        # never rewritten, so one look is enough.
        self.generated_secrets: dict[tuple[str, str], bool] = {}

    async def reconcile(self, key: Key) -> float | None:
        """Brings one ContactCenter to its spec; returns seconds until it should run again
        (while waiting for something), or None."""
        body = self.caches.contact_centers.get(key)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None  # gone or going: owner references take the children with it
        started = time.monotonic()
        try:
            requeue = await self._reconcile(body)
        except Exception as error:
            if _namespace_terminating(error) or await self._gone_or_going(body):
                # Deleted while being reconciled (with its namespace, typically): its children
                # go with it, nothing went wrong and nothing is left to retry.
                logger.debug("%s/%s went away during its reconcile", *key)
                return None
            metrics.RECONCILES.labels(namespace=key[0], contact_center=key[1], result="error").inc()
            metrics.RECONCILE_ERRORS.labels(namespace=key[0], contact_center=key[1]).inc()
            raise
        finally:
            metrics.RECONCILE_SECONDS.observe(time.monotonic() - started)
        result = "waiting" if requeue else "ok"
        metrics.RECONCILES.labels(namespace=key[0], contact_center=key[1], result=result).inc()
        return requeue

    async def _gone_or_going(self, body: Manifest) -> bool:
        """Whether the ContactCenter is deleted or being deleted; False when the API cannot
        say, so that the reconcile's own error is the one reported."""
        try:
            live = await self.kube.get(body)
        except Exception:
            return False
        return live is None or bool(live["metadata"].get("deletionTimestamp"))

    async def _reconcile(self, body: Manifest) -> float | None:
        try:
            cc = ContactCenter.model_validate(body)
        except ValidationError as error:
            # The schema rejects almost everything; what it cannot is reported, not applied.
            detail = error.errors()[0]
            where = ".".join(str(part) for part in detail["loc"])
            problem = Problem("InvalidSpec", f"{where}: {detail['msg']}; fix the spec")
            await self._record(body, None, [problem], {})
            return None

        problems = await self._missing_secrets(cc)
        if problems:
            # Never half-apply: nothing changes until every referenced Secret is there.
            await self._record(body, cc, problems, self._observed_components(cc, {}))
            return WAIT_FOR_PREREQUISITES_SECONDS

        await self._list_namespace(cc.namespace)
        created_secrets, reowned_secrets = await self._ensure_generated_secrets(cc)
        decisions = await self._decisions(cc)
        desired = build_all(cc, decisions)
        spec_unchanged = cc.metadata.generation == body.get("status", {}).get("observedGeneration")
        # Children are independent objects: compare and apply them concurrently.
        outcomes = await asyncio.gather(*(self._converge(manifest) for manifest in desired))
        applied = {
            child_key(m): result for m, (result, _) in zip(desired, outcomes, strict=True) if result
        }
        created = [
            f"{m['kind']} {m['metadata']['name']}"
            for m, (r, drift) in zip(desired, outcomes, strict=True)
            if r and drift == "."
        ]
        restored = [
            f"{m['kind']} {m['metadata']['name']} ({drift})"  # spec unchanged: someone edited it
            for m, (r, drift) in zip(desired, outcomes, strict=True)
            if r and drift != "." and spec_unchanged
        ]
        pruned = await self._prune(cc, desired)
        grown = await self._grow_volumes(cc, decisions)

        if created or created_secrets:
            await self.kube.event(
                body, "Normal", "Created", "created " + ", ".join(created_secrets + created)
            )
        if restored:
            await self.kube.event(
                body, "Warning", "DriftReverted", "restored " + "; ".join(restored)
            )
        if pruned:
            await self.kube.event(body, "Normal", "Pruned", "deleted " + ", ".join(pruned))
        if reowned_secrets:
            await self.kube.event(
                body, "Normal", "DeletionPolicyChanged", "; ".join(reowned_secrets)
            )
        if grown:
            await self.kube.event(body, "Normal", "VolumeExpanding", "; ".join(grown))
        await self._record(body, cc, [], self._observed_components(cc, applied, desired))
        return None

    async def _decisions(self, cc: ContactCenter) -> Decisions:
        """What the spec does not say but the cluster does: the claim size an existing
        StatefulSet was created with (templates are immutable), and the replicas of
        autoscaled workloads (the autoscaler's to change, not a restart's to reset)."""
        storage = {}
        for component in ("queue", "database"):
            live = await self._live(_named(cc, "StatefulSet", "apps/v1", f"{cc.name}-{component}"))
            for template in (live or {}).get("spec", {}).get("volumeClaimTemplates", []):
                requested = template.get("spec", {}).get("resources", {}).get("requests", {})
                if "storage" in requested:
                    storage[component] = str(requested["storage"])
        outcome = self.autoscaled.get((cc.namespace, cc.name))
        replicas = dict(outcome.replicas) if outcome else {}
        for component, workload in (("bot", cc.spec.bot), ("agents", cc.spec.agents)):
            if workload.autoscaling is None or component in replicas:
                continue
            live = await self._live(_named(cc, "Deployment", "apps/v1", f"{cc.name}-{component}"))
            if live is not None and "replicas" in live.get("spec", {}):
                replicas[component] = int(live["spec"]["replicas"])
        return Decisions(replicas=replicas, claim_template_storage=storage)

    async def _converge(self, manifest: Manifest) -> tuple[Manifest | None, str | None]:
        """Applies `manifest` unless the live object already holds it; returns what was
        applied (None if nothing) and where it differed ("." when it did not exist)."""
        live = await self._live(manifest)
        drift = difference(live, manifest) if live is not None else "."
        if drift is None:
            return None, None
        result = await self.kube.apply(manifest)
        self.caches.put_child(result)
        return result, drift

    async def _grow_volumes(self, cc: ContactCenter, decisions: Decisions) -> list[str]:
        """Asks existing data volumes for the spec's larger size (never smaller: the schema
        forbids shrinking, and a claim cannot shrink). Only needed once the spec asks for
        more than the StatefulSet's claim template."""
        templates = decisions.claim_template_storage
        if not any(
            service.external is None
            and component in templates
            and (quantity_amount(templates[component]) or 0)
            < (quantity_amount(service.effective_storage) or 0)
            for component, service in (("queue", cc.spec.queue), ("database", cc.spec.database))
        ):
            return []
        grown = []
        for expansion in build_volume_expansions(cc):
            want = expansion["spec"]["resources"]["requests"]["storage"]
            live = await self.kube.get(expansion)
            if live is None:
                continue  # the StatefulSet creates it at the template's size
            have = live.get("spec", {}).get("resources", {}).get("requests", {}).get("storage")
            if have is not None and (quantity_amount(str(have)) or 0) < (
                quantity_amount(want) or 0
            ):
                await self.kube.apply(expansion)
                grown.append(
                    f"PersistentVolumeClaim {expansion['metadata']['name']}: {have} -> {want}"
                )
        return grown

    async def _list_namespace(self, namespace: str) -> None:
        """Fills the caches with the namespace's managed children, one LIST per kind, so the
        first reconcile of each of its ContactCenters needs no GET per child."""
        if namespace in self.caches.listed_namespaces:
            return
        for kind, api_version in API_VERSIONS.items():
            for body in await self.kube.list(api_version, kind, namespace, MANAGED_BY):
                self.caches.put_child(body)
        for secret in await self.kube.list("v1", "Secret", namespace, MANAGED_BY):
            self._remember_secret(
                {**secret, "metadata": {**secret["metadata"], "namespace": namespace}}
            )
        self.caches.listed_namespaces.add(namespace)

    async def _live(self, manifest: Mapping[str, Any]) -> Manifest | None:
        key = child_key(manifest)
        cached = self.caches.children.get(key)
        if cached is not None or (
            key[0] in API_VERSIONS and key[1] in self.caches.listed_namespaces
        ):
            return cached
        live = await self.kube.get(manifest)
        if live is not None:
            self.caches.put_child(live)
        return live

    async def _missing_secrets(self, cc: ContactCenter) -> list[Problem]:
        problems = []
        for name, key in referenced_secrets(cc):
            secret = await self.kube.get(_secret(cc, name))
            where = f"Secret {cc.namespace}/{name}"
            if secret is None:
                problems.append(Problem("SecretNotFound", f"{where} not found; waiting for it"))
            elif key is not None and key not in (secret.get("data") or {}):
                problems.append(
                    Problem("SecretKeyNotFound", f"{where} has no key {key!r}; waiting for it")
                )
        return problems

    async def _ensure_generated_secrets(self, cc: ContactCenter) -> tuple[list[str], list[str]]:
        """Creates the credentials Secrets that do not exist yet, once, with fresh random
        passwords; an existing one is never rewritten (its password opens the data), but its
        owner reference follows the deletion policy: under Retain it outlives the
        ContactCenter with the volume it opens, under Delete it goes with it."""
        names = generated_secret_names(cc)
        for name in names.values():
            if (cc.namespace, name) not in self.generated_secrets:
                live = await self.kube.get(_secret(cc, name))
                if live is not None:
                    self._remember_secret(live)
        passwords = {component: secrets.token_urlsafe(PASSWORD_BYTES) for component in names}
        created, reowned = [], []
        for manifest in build_generated_secrets(cc, passwords):
            meta = manifest["metadata"]
            key = (cc.namespace, meta["name"])
            owned = bool(meta.get("ownerReferences"))
            if key not in self.generated_secrets:
                if await self.kube.create(manifest):
                    created.append(f"Secret {meta['name']}")
            elif self.generated_secrets[key] != owned:
                # The owner reference only: the data stays exactly as it was generated.
                references = meta.get("ownerReferences")
                await self.kube.merge_patch(manifest, {"metadata": {"ownerReferences": references}})
                fate = "now goes with the ContactCenter" if owned else "now outlives it"
                reowned.append(f"Secret {meta['name']} {fate}")
            self.generated_secrets[key] = owned
        return created, reowned

    def _remember_secret(self, secret: Mapping[str, Any]) -> None:
        meta = secret["metadata"]
        self.generated_secrets[(meta["namespace"], meta["name"])] = bool(
            meta.get("ownerReferences")
        )

    async def _prune(self, cc: ContactCenter, desired: list[Manifest]) -> list[str]:
        """Deletes children the spec no longer asks for (a removed channel, say)."""
        wanted = {child_key(manifest) for manifest in desired}
        pruned = []
        for body in list(self.caches.children_of(cc)):
            key = child_key(body)
            if key in wanted or key[0] not in WATCHED_KINDS:
                continue
            await self.kube.delete(key[0], body["apiVersion"], key[1], key[2])
            self.caches.remove_child(key)
            pruned.append(f"{key[0]} {key[2]}")
        return pruned

    def _observed_components(
        self,
        cc: ContactCenter,
        applied: Mapping[ChildKey, Manifest],
        desired: Iterable[Manifest] | None = None,
    ) -> dict[str, ComponentReadiness]:
        components: dict[str, ComponentReadiness] = {}
        for manifest in desired if desired is not None else build_all(cc):
            if manifest["kind"] not in WORKLOAD_KINDS:
                continue
            key = child_key(manifest)
            live = applied.get(key) or self.caches.children.get(key)
            component = manifest["metadata"]["name"].removeprefix(f"{cc.name}-")
            components[component] = workload_readiness(manifest["kind"], live)
        for component, service in (("queue", cc.spec.queue), ("database", cc.spec.database)):
            if service.external is not None:
                components[component] = external_readiness()
        return components

    async def _record(
        self,
        body: Manifest,
        cc: ContactCenter | None,
        problems: list[Problem],
        components: Mapping[str, ComponentReadiness],
    ) -> None:
        """Patches status, only when it changed; announces a new problem as an event."""
        current: dict[str, Any] = dict(body.get("status") or {})
        now = now_rfc3339()
        status = compute_status(
            current,
            body["metadata"].get("generation"),
            len(cc.spec.channels) if cc else len(body.get("spec", {}).get("channels", [])),
            components,
            problems,
            now,
        )
        outcome = self.autoscaled.get((body["metadata"]["namespace"], body["metadata"]["name"]))
        if outcome is not None:
            status["sla"] = dict(outcome.sla)
            for condition in outcome.conditions:
                status["conditions"] = set_condition(
                    status["conditions"], *condition, body["metadata"].get("generation"), now
                )
        patch = merge_patch(current, status)
        if not patch:
            return
        meta = body["metadata"]
        await self.kube.patch_status(meta["namespace"], meta["name"], patch)
        if problems and _degraded(current) != (problems[0].reason, problems[0].message):
            await self.kube.event(body, "Warning", problems[0].reason, problems[0].message)


def _degraded(status: Mapping[str, Any]) -> tuple[str, str] | None:
    for condition in status.get("conditions", []):
        if condition.get("type") == "Degraded" and condition.get("status") == "True":
            return condition.get("reason", ""), condition.get("message", "")
    return None


def referenced_secrets(cc: ContactCenter) -> list[tuple[str, str | None]]:
    """Secrets the spec refers to, with the key it needs (None: the whole Secret)."""
    references: list[tuple[str, str | None]] = []
    for service in (cc.spec.queue, cc.spec.database):
        if service.external is not None and service.external.secret_ref is not None:
            references.append((service.external.secret_ref.name, service.external.secret_ref.key))
    for channel in cc.spec.channels:
        if channel.credentials is not None:
            references.append((channel.credentials.secret_ref.name, None))
    return references


def _named(cc: ContactCenter, kind: str, api_version: str, name: str) -> Manifest:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": cc.namespace},
    }


def _secret(cc: ContactCenter, name: str) -> Manifest:
    return _named(cc, "Secret", "v1", name)


def _namespace_terminating(error: Exception) -> bool:
    return (
        isinstance(error, ApiError)
        and error.status.code == 403
        and "being terminated" in (error.status.message or "")
    )
