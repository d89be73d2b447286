"""The operator's access to the Kubernetes API: plain manifests in and out, server-side
apply under one field manager, and a count of every write (a restarted or idle operator
should make none). Every write is refused once this replica may no longer act (it stopped
leading), however late the task that asks for it runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from lightkube import ApiError, AsyncClient, codecs
from lightkube.codecs import resource_registry
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event
from lightkube.types import PatchType

from switchboard import FIELD_MANAGER, GROUP, PLURAL, VERSION
from switchboard.metrics import operator as metrics
from switchboard.resources.common import Manifest
from switchboard.resources.kinds import CHILD_KINDS

ContactCenterResource = create_namespaced_resource(GROUP, VERSION, "ContactCenter", PLURAL)
for _child in CHILD_KINDS:
    if _child.optional:  # not among lightkube's own models: known by their API alone
        _group, _, _version = _child.api_version.rpartition("/")
        create_namespaced_resource(_group, _version, _child.kind, _child.plural)


def named(api_version: str, kind: str, namespace: str, name: str) -> Manifest:
    """A manifest that only names an object: enough to get it."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
    }


def _resource(manifest: Mapping[str, Any]) -> Any:
    """The lightkube resource class of a manifest, from its apiVersion and kind alone."""
    return resource_registry.load(manifest["apiVersion"], manifest["kind"])


def _plain(resource: Any) -> Manifest:
    plain: Manifest = resource.to_dict()
    return plain


class NotLeading(Exception):
    """A write refused because this replica no longer leads."""


def _always() -> bool:
    return True


Result = TypeVar("Result")


# What the HTTP client keeps connections open for (httpx's default pool). Amid a fleet's
# creation eight reconciles apply eighteen children each at once: beyond this, connections
# were opened for a request and closed after it, a TLS handshake each on both ends, and the
# pool scanned its many connections for every request.
CONCURRENT_REQUESTS = 20
LIST_PAGE_SIZE = 100


class Kube:
    """One async client shared by every reconcile; it writes only while `may_write()`."""

    def __init__(
        self, client: AsyncClient | None = None, may_write: Callable[[], bool] = _always
    ) -> None:
        self.client = client or AsyncClient(field_manager=FIELD_MANAGER)
        self.may_write = may_write
        self._requests = asyncio.Semaphore(CONCURRENT_REQUESTS)

    def _writing(self, verb: str, kind: str) -> None:
        if not self.may_write():
            raise NotLeading(f"not leading: refused to {verb} a {kind}")
        metrics.API_WRITES.labels(verb=verb, kind=kind).inc()

    async def _bounded(self, request: Coroutine[Any, Any, Result]) -> Result:
        """Runs a request of the client's (a coroutine: nothing is sent until it runs) once
        fewer than CONCURRENT_REQUESTS are in flight."""
        try:
            async with self._requests:
                return await request
        finally:
            request.close()  # nothing once it ran; unrun (cancelled while waiting), no warning

    async def get(self, manifest: Mapping[str, Any]) -> Manifest | None:
        """The live object named like `manifest`, or None if there is none."""
        meta = manifest["metadata"]
        try:
            live = await self._bounded(
                self.client.get(_resource(manifest), meta["name"], namespace=meta.get("namespace"))
            )
        except ApiError as error:
            if error.status.code == 404:
                return None
            raise
        return _plain(live)

    async def list(
        self, api_version: str, kind: str, namespace: str | None, labels: Mapping[str, str]
    ) -> AsyncIterator[Manifest]:
        """The objects of a kind with `labels`, in `namespace` (None: a cluster-scoped kind),
        read a page at a time: a new leader lists namespaces of hundreds of children each."""
        resource = _resource({"apiVersion": api_version, "kind": kind})
        async with self._requests:
            async for item in self.client.list(
                resource, namespace=namespace, labels=dict(labels), chunk_size=LIST_PAGE_SIZE
            ):
                yield {"apiVersion": api_version, "kind": kind, **_plain(item)}

    async def apply(self, manifest: Mapping[str, Any]) -> Manifest:
        """Server-side apply; forced, because the operator owns what it sets."""
        self._writing("apply", manifest["kind"])
        applied = await self._bounded(
            self.client.apply(
                codecs.from_dict(dict(manifest)), field_manager=FIELD_MANAGER, force=True
            )
        )
        return _plain(applied)

    async def create(self, manifest: Mapping[str, Any]) -> bool:
        """Creates the object unless one of that name exists; True if this call created it."""
        self._writing("create", manifest["kind"])
        try:
            await self._bounded(self.client.create(codecs.from_dict(dict(manifest))))
        except ApiError as error:
            if error.status.code == 409:
                return False
            raise
        return True

    async def delete(self, kind: str, api_version: str, namespace: str, name: str) -> None:
        self._writing("delete", kind)
        resource = _resource({"apiVersion": api_version, "kind": kind, "metadata": {}})
        try:
            await self._bounded(self.client.delete(resource, name, namespace=namespace))
        except ApiError as error:
            if error.status.code != 404:
                raise

    async def merge_patch(self, manifest: Mapping[str, Any], patch: Mapping[str, Any]) -> None:
        """A JSON merge patch of the object named like `manifest` (null removes a field)."""
        self._writing("patch", manifest["kind"])
        meta = manifest["metadata"]
        await self._bounded(
            self.client.patch(
                _resource(manifest),
                meta["name"],
                dict(patch),
                namespace=meta.get("namespace"),
                patch_type=PatchType.MERGE,
            )
        )

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> str | None:
        """Merges `status` into the ContactCenter's; returns the resourceVersion written."""
        self._writing("patch", "ContactCenter/status")
        patched = await self._bounded(
            self.client.patch(
                ContactCenterResource.Status,
                name,
                {"status": dict(status)},
                namespace=namespace,
                patch_type=PatchType.MERGE,
            )
        )
        return patched.metadata.resourceVersion if patched.metadata else None

    async def event(self, owner: Mapping[str, Any], kind: str, reason: str, message: str) -> None:
        """Records an Event on the ContactCenter (`kind` is Normal or Warning)."""
        self._writing("create", "Event")
        meta = owner["metadata"]
        now = datetime.now(UTC)
        event = Event(
            metadata=ObjectMeta(generateName=f"{meta['name']}.", namespace=meta["namespace"]),
            involvedObject=ObjectReference(
                apiVersion=f"{GROUP}/{VERSION}",
                kind="ContactCenter",
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
            ),
            type=kind,
            reason=reason,
            message=message[:1024],
            source=EventSource(component=FIELD_MANAGER),
            firstTimestamp=now,
            lastTimestamp=now,
            count=1,
        )
        await self._bounded(self.client.create(event))
