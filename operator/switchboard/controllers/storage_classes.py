"""Encryption at rest: the StorageClasses of the built-in queue's and database's volumes, read
when the spec requires encryption, and a problem for each that does not declare it."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.controllers.kube import Kube
from switchboard.resources.status import Problem
from switchboard.resources.storage_encryption import (
    declares_encryption,
    default_class,
    encrypted_volumes,
)


async def unencrypted_storage(kube: Kube, cc: ContactCenter) -> list[Problem]:
    wanted = encrypted_volumes(cc)
    if not wanted:
        return []
    classes = {
        c["metadata"]["name"]: c
        async for c in kube.list("storage.k8s.io/v1", "StorageClass", None, {})
    }
    problems = []
    for service, named in wanted.items():
        name = named or default_class(classes.values())
        where = f"spec.{service}"
        if name is None:
            reason = "names no storageClassName and the cluster has no default StorageClass"
        elif name not in classes:
            reason = f"uses StorageClass {name}, which does not exist"
        elif not declares_encryption(classes[name]):
            reason = f"uses StorageClass {name}, which does not declare encryption at rest"
        else:
            continue
        problems.append(
            Problem(
                "StorageNotEncrypted",
                f"{where} {reason}, and spec.dataProtection.encryptionAtRest is Required; "
                "nothing is applied until it does",
            )
        )
    return problems
