"""One reconcile of a ContactCenter: read what is there, build what should be, apply only
what differs, and record the outcome in status and events.

Everything the operator reads comes from watch caches (filled by the kopf handlers) with a
fallback to a GET, so a restarted or idle operator compares and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from lightkube import ApiError
from pydantic import ValidationError

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import QualityStatus
from switchboard.controllers.autoscale import AutoscaleOutcome
from switchboard.controllers.caches import Caches, Key
from switchboard.controllers.children import Children
from switchboard.controllers.kube import Kube, named
from switchboard.controllers.recorder import Recorder
from switchboard.controllers.rollouts import RolloutOutcome, Rollouts
from switchboard.controllers.secrets import Secrets
from switchboard.controllers.sla import autoscaled
from switchboard.controllers.storage_classes import unencrypted_storage
from switchboard.controllers.volumes import grow_volumes
from switchboard.metrics import operator as metrics
from switchboard.resources import build_all
from switchboard.resources.bot import bot_name, sized_replicas
from switchboard.resources.common import STABLE_TRACK, Manifest, desired_replicas
from switchboard.resources.decisions import BotTrack, Decisions
from switchboard.resources.kinds import CERTIFICATE, HTTP_ROUTE, POD_MONITOR
from switchboard.resources.status import Problem
from switchboard.resources.tls import tls_secret_name
from switchboard.resources.wiring import wiring_hash
from switchboard.rollout.capacity import bot_tracks
from switchboard.rollout.machine import CANARY_TRACK

logger = logging.getLogger(__name__)

WAIT_FOR_PREREQUISITES_SECONDS = 5.0
# A namespace being deleted refuses every create, so its ContactCenters' reconciles only fail
# one by one; after a restart amid a fleet's deletion thousands of them queued ahead of a new
# ContactCenter elsewhere. Once one failed so, the others of its namespace wait this long
# before trying: by then they are gone with it (a namespace created again under its name is
# served after that).
TERMINATING_NAMESPACE_SECONDS = 30.0


class TerminatingNamespaces:
    """Namespaces seen being deleted, and when (monotonic seconds)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def saw(self, namespace: str, now: float) -> None:
        self._seen[namespace] = now

    def wait(self, namespace: str, now: float) -> float | None:
        """Seconds before a ContactCenter of `namespace` is worth a reconcile; None if now."""
        seen = self._seen.get(namespace)
        if seen is None:
            return None
        left = seen + TERMINATING_NAMESPACE_SECONDS - now
        if left > 0:
            return left
        del self._seen[namespace]
        return None


class Reconciler:
    def __init__(
        self,
        kube: Kube,
        caches: Caches,
        autoscaled: Mapping[Key, AutoscaleOutcome],
        rollouts: Rollouts,
        quality: Mapping[Key, QualityStatus],
    ) -> None:
        self.kube = kube
        self.caches = caches
        self.autoscaled = autoscaled
        self.rollouts = rollouts
        self.children = Children(kube, caches)
        self.secrets = Secrets(kube)
        self.recorder = Recorder(kube, caches, autoscaled, quality)
        self.terminating = TerminatingNamespaces()
        self.listing: dict[str, asyncio.Lock] = {}

    def forget(self, body: Manifest) -> None:
        """What is remembered of a deleted ContactCenter that a new one of its name must not
        inherit (its generated Secrets went with it)."""
        try:
            cc = ContactCenter.model_validate(body)
        except ValidationError:
            return  # an invalid spec never got Secrets generated
        self.secrets.forget(cc)

    async def reconcile(self, key: Key) -> float | None:
        """Brings one ContactCenter to its spec; returns seconds until it should run again
        (while waiting for something), or None."""
        body = self.caches.contact_centers.get(key)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None  # gone or going: owner references take the children with it
        started = time.monotonic()
        wait = self.terminating.wait(key[0], started)
        if wait is not None:
            return wait
        try:
            requeue = await self._reconcile(body)
        except Exception as error:
            terminating = _namespace_terminating(error)
            if terminating:
                self.terminating.saw(key[0], time.monotonic())
            if terminating or await self._gone_or_going(body):
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
            await self.recorder.record(body, None, [problem], {})
            return None

        problems = (
            await self.secrets.missing(cc)
            + await unencrypted_storage(self.kube, cc)
            + await self._certificate_unavailable(cc)
        )
        if problems:
            # Never half-apply: nothing changes until every referenced Secret is there and
            # the volumes are stored as the spec requires.
            await self.recorder.record(body, cc, problems, self.recorder.components(cc, {}))
            return WAIT_FOR_PREREQUISITES_SECONDS

        await self._list_namespace(cc.namespace)
        created_secrets, reowned_secrets = await self.secrets.ensure_generated(cc)
        rollout = self.rollouts.current(cc, body)
        decisions = await self._decisions(cc, rollout)
        desired = build_all(cc, decisions)
        converged = await self.children.converge(desired)
        pruned = await self.children.prune(cc, desired)
        grown = await grow_volumes(self.kube, cc, decisions)

        created = created_secrets + converged.created
        if created:
            await self.kube.event(body, "Normal", "Created", "created " + ", ".join(created))
        if converged.differed and cc.metadata.generation == body.get("status", {}).get(
            "observedGeneration"
        ):
            # The spec did not change, so someone edited the child.
            restored = "restored " + "; ".join(converged.differed)
            await self.kube.event(body, "Warning", "DriftReverted", restored)
        if pruned:
            await self.kube.event(body, "Normal", "Pruned", "deleted " + ", ".join(pruned))
        if reowned_secrets:
            await self.kube.event(
                body, "Normal", "DeletionPolicyChanged", "; ".join(reowned_secrets)
            )
        if grown:
            await self.kube.event(body, "Normal", "VolumeExpanding", "; ".join(grown))
        components = self.recorder.components(cc, converged.applied, desired)
        await self.recorder.record(body, cc, [], components, rollout.plan)
        for event in self.rollouts.take_events((cc.namespace, cc.name)):
            await self.kube.event(body, event.type, event.reason, event.message)
        return None

    async def _list_namespace(self, namespace: str) -> None:
        """Lists the namespace's children and generated Secrets once; the watches keep the
        children current from then on. Workers reconciling ContactCenters of one namespace
        wait for one listing (a new leader's workers start on the same namespace at once)."""
        if namespace in self.caches.listed_namespaces:
            return
        async with self.listing.setdefault(namespace, asyncio.Lock()):
            if namespace in self.caches.listed_namespaces:
                return
            await self.children.list_namespace(namespace)
            await self.secrets.list_namespace(namespace)
            self.caches.listed_namespaces.add(namespace)
        self.listing.pop(namespace, None)

    async def _decisions(self, cc: ContactCenter, rollout: RolloutOutcome) -> Decisions:
        """What the spec does not say but the cluster does: the claim size an existing
        StatefulSet was created with (templates are immutable), the replicas of autoscaled
        workloads (the autoscaler's to change, not a restart's to reset), the rollout's bot
        tracks and routes, and whether the cluster serves the Gateway API."""
        storage = {}
        for component in ("queue", "database"):
            name = f"{cc.name}-{component}"
            live = await self.children.live(named("apps/v1", "StatefulSet", cc.namespace, name))
            for template in (live or {}).get("spec", {}).get("volumeClaimTemplates", []):
                requested = template.get("spec", {}).get("resources", {}).get("requests", {})
                if "storage" in requested:
                    storage[component] = str(requested["storage"])
        outcome = self.autoscaled.get((cc.namespace, cc.name))
        replicas = dict(outcome.replicas) if outcome else {}
        for workload in autoscaled(cc):
            if workload in replicas:
                continue
            name = f"{cc.name}-{workload}"
            live = await self.children.live(named("apps/v1", "Deployment", cc.namespace, name))
            if live is not None and "replicas" in live.get("spec", {}):
                # The bot's stable Deployment runs a share of the bot during a rollout.
                whole = sized_replicas(live) if workload == "bot" else int(live["spec"]["replicas"])
                replicas[workload] = whole
        return Decisions(
            replicas=replicas,
            claim_template_storage=storage,
            bot_tracks=await self._bot_tracks(cc, rollout, replicas.get("bot")),
            routes=rollout.plan.routes,
            http_route=await self.children.served(HTTP_ROUTE, cc.namespace),
            pod_monitor=await self.children.served(POD_MONITOR, cc.namespace),
            certificate=await self.children.served(CERTIFICATE, cc.namespace),
            tls_hash=await self._tls_hash(cc),
        )

    async def _certificate_unavailable(self, cc: ContactCenter) -> list[Problem]:
        """An issuer reference in a cluster without cert-manager: nothing could issue the
        gateways' (or the queue's and database's) certificate, so nothing is applied until
        cert-manager is installed."""
        tls = cc.spec.tls
        issuers = (
            []
            if tls is None
            else [
                field
                for field, issuer in (
                    ("issuerRef", tls.issuer_ref),
                    ("internal.issuerRef", tls.internal),
                )
                if issuer is not None
            ]
        )
        if not issuers or await self.children.served(CERTIFICATE, cc.namespace):
            return []
        return [
            Problem(
                "CertManagerNotInstalled",
                f"spec.tls.{' and spec.tls.'.join(issuers)} need"
                f"{'s' if len(issuers) == 1 else ''} cert-manager, but this cluster does not "
                "serve cert-manager.io/v1 Certificate; TLS waits for cert-manager to be installed",
            )
        ]

    async def _tls_hash(self, cc: ContactCenter) -> str:
        """A digest of the Secret the gateways serve TLS with, remembered so that a change of
        it (a renewal) brings its ContactCenter here."""
        name = tls_secret_name(cc)
        if name is None:
            return ""
        self.caches.tls_secrets[(cc.namespace, name)] = (cc.namespace, cc.name)
        secret = await self.kube.get(named("v1", "Secret", cc.namespace, name))
        return wiring_hash((secret or {}).get("data") or {})

    async def _bot_tracks(
        self, cc: ContactCenter, rollout: RolloutOutcome, decided: int | None
    ) -> tuple[BotTrack, ...]:
        """The plan's bot Deployments with the bot's replicas shared between them (a
        draining one by what it runs now)."""
        running = {}
        for track in (STABLE_TRACK, CANARY_TRACK):
            name = bot_name(cc, track)
            live = await self.children.live(named("apps/v1", "Deployment", cc.namespace, name))
            if live is not None:
                running[track] = int(live.get("spec", {}).get("replicas", 1))
        sized = desired_replicas(cc.spec.bot, decided)
        return bot_tracks(rollout.plan, cc.spec.bot, sized, rollout.tracks, running)


def _namespace_terminating(error: Exception) -> bool:
    return (
        isinstance(error, ApiError)
        and error.status.code == 403
        and "being terminated" in (error.status.message or "")
    )
