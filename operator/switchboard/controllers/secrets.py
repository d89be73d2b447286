"""The Secrets of a ContactCenter: those its spec refers to are waited for and never touched;
the generated credentials are created once, with fresh random passwords, and never rewritten
(their password opens the data)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.controllers.kube import Kube, named
from switchboard.resources.bot import model_config_map
from switchboard.resources.kinds import MANAGED_SELECTOR
from switchboard.resources.secrets import (
    build_generated_secrets,
    generated_secret_names,
    referenced_secrets,
)
from switchboard.resources.status import Problem

PASSWORD_BYTES = 32


class Secrets:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        # Generated Secrets known to exist, and whether they carry an owner reference: they are
        # never rewritten, so one look is enough.
        self.generated: dict[tuple[str, str], bool] = {}

    async def missing(self, cc: ContactCenter) -> list[Problem]:
        """What is missing of the Secrets the spec refers to, and of the ConfigMap holding the
        bot's model (a pod cannot start without what it mounts)."""
        problems = []
        model_map = model_config_map(cc.spec.bot.model)
        if model_map is not None and not await self.kube.get(
            named("v1", "ConfigMap", cc.namespace, model_map)
        ):
            problems.append(
                Problem(
                    "ModelConfigMapNotFound",
                    f"ConfigMap {cc.namespace}/{model_map} (spec.bot.model.uri) not found; "
                    "waiting for it",
                )
            )
        for name, key in referenced_secrets(cc):
            secret = await self.kube.get(named("v1", "Secret", cc.namespace, name))
            where = f"Secret {cc.namespace}/{name}"
            if secret is None:
                problems.append(Problem("SecretNotFound", f"{where} not found; waiting for it"))
            elif key is not None and key not in (secret.get("data") or {}):
                problems.append(
                    Problem("SecretKeyNotFound", f"{where} has no key {key!r}; waiting for it")
                )
        return problems

    async def list_namespace(self, namespace: str) -> None:
        """Remembers the namespace's generated Secrets with one LIST, so the first reconcile
        of each of its ContactCenters needs no GET per Secret."""
        async for secret in self.kube.list("v1", "Secret", namespace, MANAGED_SELECTOR):
            self._remember({**secret, "metadata": {**secret["metadata"], "namespace": namespace}})

    async def ensure_generated(self, cc: ContactCenter) -> tuple[list[str], list[str]]:
        """Creates the credentials Secrets that do not exist yet; an existing one keeps its
        data, but its owner reference follows the deletion policy: under Retain it outlives
        the ContactCenter with the volume it opens, under Delete it goes with it. Returns what
        was created and what changed owner, for events."""
        names = generated_secret_names(cc)
        for name in names.values():
            if (cc.namespace, name) not in self.generated:
                live = await self.kube.get(named("v1", "Secret", cc.namespace, name))
                if live is not None:
                    self._remember(live)
        passwords = {component: secrets.token_urlsafe(PASSWORD_BYTES) for component in names}
        created, reowned = [], []
        for manifest in build_generated_secrets(cc, passwords):
            meta = manifest["metadata"]
            key = (cc.namespace, meta["name"])
            owned = bool(meta.get("ownerReferences"))
            if key not in self.generated:
                if await self.kube.create(manifest):
                    created.append(f"Secret {meta['name']}")
            elif self.generated[key] != owned:
                # The owner reference only: the data stays exactly as it was generated.
                references = meta.get("ownerReferences")
                await self.kube.merge_patch(manifest, {"metadata": {"ownerReferences": references}})
                fate = "now goes with the ContactCenter" if owned else "now outlives it"
                reowned.append(f"Secret {meta['name']} {fate}")
            self.generated[key] = owned
        return created, reowned

    def forget(self, cc: ContactCenter) -> None:
        """A deleted ContactCenter's generated Secrets are looked at again: those it owned go
        with it, and one of the same name created later must generate them anew."""
        for name in generated_secret_names(cc).values():
            self.generated.pop((cc.namespace, name), None)

    def _remember(self, secret: Mapping[str, Any]) -> None:
        meta = secret["metadata"]
        self.generated[(meta["namespace"], meta["name"])] = bool(meta.get("ownerReferences"))
