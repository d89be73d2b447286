"""Whether a StorageClass declares encryption at rest (`spec.dataProtection.encryptionAtRest`).

Kubernetes has no standard field for it: a class declares it by Switchboard's annotation, or by
the parameter its provisioner encrypts with (AWS EBS: `encrypted`, `kmsKeyId`; GCE PD:
`disk-encryption-kms-key`; Azure Disk: `diskEncryptionSetID`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from switchboard.api.contactcenter import ContactCenter

ENCRYPTED_ANNOTATION = "switchboard.io/encrypted-at-rest"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
ENCRYPTION_KEYS = ("kmsKeyId", "disk-encryption-kms-key", "diskEncryptionSetID")


def declares_encryption(storage_class: Mapping[str, Any]) -> bool:
    annotations = storage_class.get("metadata", {}).get("annotations") or {}
    if annotations.get(ENCRYPTED_ANNOTATION) == "true":
        return True
    parameters = storage_class.get("parameters") or {}
    return parameters.get("encrypted") == "true" or any(
        parameters.get(key) for key in ENCRYPTION_KEYS
    )


def default_class(classes: Iterable[Mapping[str, Any]]) -> str | None:
    """The cluster's default StorageClass, as the apiserver picks it for a claim naming none:
    the newest of those marked default."""
    defaults = [
        (str(c["metadata"].get("creationTimestamp", "")), c["metadata"]["name"])
        for c in classes
        if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    return max(defaults)[1] if defaults else None


def encrypted_volumes(cc: ContactCenter) -> dict[str, str | None]:
    """The built-in services whose volumes must be encrypted, and the StorageClass each names
    (None: the cluster's default); empty unless the spec requires encryption."""
    if cc.spec.data_protection.encryption_at_rest != "Required":
        return {}
    services = {"queue": cc.spec.queue, "database": cc.spec.database}
    return {
        name: service.storage_class_name
        for name, service in services.items()
        if service.external is None
    }
