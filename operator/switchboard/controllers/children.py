"""The children of a ContactCenter: read from the caches (one LIST per namespace, a GET at
worst), applied only where the live object differs from what was built, and deleted when the
spec no longer asks for them.

An optional kind (the Gateway API's HTTPRoute) is listed like the others where the cluster
serves it; where it does not, its LIST answers 404. The answer is kept for a minute, so
installing (or removing) the API needs no restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2  # lightkube's HTTP client: a kind the apiserver does not know is a plain 404
from lightkube import ApiError

from switchboard.api.contactcenter import ContactCenter
from switchboard.controllers.caches import Caches, ChildKey, child_key
from switchboard.controllers.kube import Kube
from switchboard.resources.common import Manifest
from switchboard.resources.drift import difference
from switchboard.resources.kinds import (
    CHILD_KIND_NAMES,
    CHILD_KINDS,
    MANAGED_SELECTOR,
    ChildKind,
)

OPTIONAL_RECHECK_SECONDS = 60.0


@dataclass(frozen=True)
class Converged:
    """What applying the built children changed."""

    applied: Mapping[ChildKey, Manifest]  # as the apiserver returned them
    created: list[str]  # "Kind name"
    differed: list[str]  # "Kind name (first field that differed)"


class Children:
    def __init__(self, kube: Kube, caches: Caches) -> None:
        self.kube = kube
        self.caches = caches
        # Per optional kind: whether the cluster serves it, and when that was found out.
        self._served: dict[str, tuple[bool, float]] = {}

    async def list_namespace(self, namespace: str) -> None:
        """Fills the caches with the namespace's managed children, one LIST per kind, so the
        first reconcile of each of its ContactCenters needs no GET per child."""
        for child in CHILD_KINDS:
            await self._list(child, namespace)

    async def served(self, child: ChildKind, namespace: str) -> bool:
        """Whether the cluster serves an optional kind: as last found out, asked again (a
        LIST in `namespace`, which fills the caches too) once that is a minute old."""
        known = self._served.get(child.kind)
        if known is None or time.monotonic() - known[1] >= OPTIONAL_RECHECK_SECONDS:
            await self._list(child, namespace)
        return self._served[child.kind][0]

    async def _list(self, child: ChildKind, namespace: str) -> None:
        try:
            async for body in self.kube.list(
                child.api_version, child.kind, namespace, MANAGED_SELECTOR
            ):
                self.caches.put_child(body)
        except (ApiError, httpx2.HTTPStatusError) as error:
            if child.optional and _not_found(error):
                self._served[child.kind] = (False, time.monotonic())
                return
            raise
        if child.optional:
            self._served[child.kind] = (True, time.monotonic())

    async def live(self, manifest: Mapping[str, Any]) -> Manifest | None:
        """The live object named like `manifest`, from the caches where they know it."""
        key = child_key(manifest)
        cached = self.caches.child(key)
        if cached is not None or (
            key[0] in CHILD_KIND_NAMES and key[1] in self.caches.listed_namespaces
        ):
            return cached
        live = await self.kube.get(manifest)
        if live is not None:
            self.caches.put_child(live)
        return live

    async def converge(self, desired: Sequence[Manifest]) -> Converged:
        """Applies each of `desired` whose live object does not already hold it. Children are
        independent objects: compared and applied concurrently."""
        outcomes = await asyncio.gather(*(self._converge(manifest) for manifest in desired))
        applied, created, differed = {}, [], []
        for manifest, (result, drift) in zip(desired, outcomes, strict=True):
            if result is None:
                continue
            applied[child_key(manifest)] = result
            name = f"{manifest['kind']} {manifest['metadata']['name']}"
            if drift == ".":
                created.append(name)
            else:
                differed.append(f"{name} ({drift})")
        return Converged(applied, created, differed)

    async def _converge(self, manifest: Manifest) -> tuple[Manifest | None, str | None]:
        """Applies `manifest` unless the live object already holds it; returns what was
        applied (None if nothing) and where it differed ("." when it did not exist)."""
        live = await self.live(manifest)
        drift = difference(live, manifest) if live is not None else "."
        if drift is None:
            return None, None
        result = await self.kube.apply(manifest)
        self.caches.put_child(result)
        return result, drift

    async def prune(self, cc: ContactCenter, desired: Sequence[Manifest]) -> list[str]:
        """Deletes children the spec no longer asks for (a removed channel, say)."""
        wanted = {child_key(manifest) for manifest in desired}
        pruned = []
        for body in list(self.caches.children_of(cc)):
            key = child_key(body)
            if key in wanted or key[0] not in CHILD_KIND_NAMES:
                continue
            await self.kube.delete(key[0], body["apiVersion"], key[1], key[2])
            self.caches.remove_child(key)
            pruned.append(f"{key[0]} {key[2]}")
        return pruned


def _not_found(error: ApiError | httpx2.HTTPStatusError) -> bool:
    if isinstance(error, ApiError):
        return error.status.code == 404
    return error.response.status_code == 404
