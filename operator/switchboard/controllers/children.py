"""The children of a ContactCenter: read from the caches (one LIST per namespace, a GET at
worst), applied only where the live object differs from what was built, and deleted when the
spec no longer asks for them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.controllers.caches import Caches, ChildKey, child_key
from switchboard.controllers.kube import Kube
from switchboard.resources.common import Manifest
from switchboard.resources.drift import difference
from switchboard.resources.kinds import CHILD_KIND_NAMES, CHILD_KINDS, MANAGED_SELECTOR


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

    async def list_namespace(self, namespace: str) -> None:
        """Fills the caches with the namespace's managed children, one LIST per kind, so the
        first reconcile of each of its ContactCenters needs no GET per child."""
        for child in CHILD_KINDS:
            listed = await self.kube.list(
                child.api_version, child.kind, namespace, MANAGED_SELECTOR
            )
            for body in listed:
                self.caches.put_child(body)

    async def live(self, manifest: Mapping[str, Any]) -> Manifest | None:
        """The live object named like `manifest`, from the caches where they know it."""
        key = child_key(manifest)
        cached = self.caches.children.get(key)
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
