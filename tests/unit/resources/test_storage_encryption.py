"""Which StorageClasses declare encryption at rest, and which one a claim naming none gets."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.resources.storage_encryption import (
    declares_encryption,
    default_class,
    encrypted_volumes,
)
from tests.factory import contact_center


def storage_class(
    name: str = "fast",
    *,
    annotations: dict[str, str] | None = None,
    parameters: dict[str, str] | None = None,
    created: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "parameters": parameters or {}, "provisioner": "example.com/csi"}


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ({"annotations": {"switchboard.io/encrypted-at-rest": "true"}}, True),
        ({"annotations": {"switchboard.io/encrypted-at-rest": "false"}}, False),
        ({"parameters": {"encrypted": "true"}}, True),  # AWS EBS
        ({"parameters": {"encrypted": "false"}}, False),
        ({"parameters": {"kmsKeyId": "arn:aws:kms:eu-west-1:1:key/x"}}, True),
        ({"parameters": {"disk-encryption-kms-key": "projects/p/keys/k"}}, True),  # GCE PD
        ({"parameters": {"diskEncryptionSetID": "/subscriptions/s/des"}}, True),  # Azure
        ({"parameters": {"type": "gp3"}}, False),
        ({}, False),
    ],
)
def test_what_declares_encryption(declared: dict[str, Any], expected: bool) -> None:
    assert declares_encryption(storage_class(**declared)) is expected


def test_the_default_class_is_the_newest_marked_default() -> None:
    marked = {"storageclass.kubernetes.io/is-default-class": "true"}
    classes = [
        storage_class("old", annotations=marked, created="2025-01-01T00:00:00Z"),
        storage_class("new", annotations=marked, created="2026-06-01T00:00:00Z"),
        storage_class("newest-not-default", created="2026-09-01T00:00:00Z"),
    ]
    assert default_class(classes) == "new"
    assert default_class(classes[2:]) is None


def test_only_built_in_services_are_checked_and_only_when_required() -> None:
    assert encrypted_volumes(contact_center()) == {}
    required = contact_center(
        {
            "spec.dataProtection": {"encryptionAtRest": "Required"},
            "spec.database": {"storageClassName": "vault"},
            "spec.queue": {"external": {"secretRef": {"name": "mq"}}},
        }
    )
    assert encrypted_volumes(required) == {"database": "vault"}
