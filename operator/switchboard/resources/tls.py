"""TLS of the gateways (`spec.tls`): the Secret they mount, and, with an issuer reference, the
cert-manager Certificate `<cc>-tls` that issues it.

The Secret's contents are not the builders' to read: the controller hashes them and passes the
digest in, so a renewed certificate rolls the gateways (and only them: the annotation is on
their pod template alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.common import (
    CONTACT_CENTER,
    Manifest,
    child_name,
    object_meta,
    standard_labels,
    value_env,
)

TLS_DIR = "/etc/switchboard/tls"
TLS_VOLUME = "tls"
CERTIFICATE_KEY = "tls.crt"
PRIVATE_KEY_KEY = "tls.key"
TLS_HASH_ANNOTATION = "switchboard.io/tls-hash"


def certificate_name(cc: ContactCenter) -> str:
    """The Certificate cert-manager issues for an issuer reference, and its Secret: `<cc>-tls`."""
    return child_name(cc, "tls")


def tls_secret_name(cc: ContactCenter) -> str | None:
    """The Secret the gateways serve: the one the spec names, or the issued one; None without
    TLS."""
    tls = cc.spec.tls
    if tls is None:
        return None
    if tls.secret_ref is not None:
        return tls.secret_ref.name
    return certificate_name(cc)


def dns_names(cc: ContactCenter) -> list[str]:
    """The names the issued certificate is for: the spec's, else the gateways' Services."""
    tls = cc.spec.tls
    if tls is not None and tls.dns_names:
        return list(tls.dns_names)
    return [f"{child_name(cc, channel.name)}.{cc.namespace}.svc" for channel in cc.spec.channels]


def build_certificate(cc: ContactCenter) -> Manifest:
    """The Certificate of an issuer reference. Its Secret carries the standard labels too
    (cert-manager copies `secretTemplate` onto it), so the operator sees it change."""
    tls = cc.spec.tls
    if tls is None or tls.issuer_ref is None:
        raise ValueError("a Certificate needs spec.tls.issuerRef")
    issuer = tls.issuer_ref
    name = certificate_name(cc)
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": object_meta(cc, name, CONTACT_CENTER),
        "spec": {
            "secretName": name,
            "secretTemplate": {"labels": standard_labels(cc, CONTACT_CENTER)},
            "dnsNames": dns_names(cc),
            "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": issuer.group},
        },
    }


def tls_volume(secret: str) -> dict[str, Any]:
    """The certificate and its key, readable by the pod's group (fsGroup) and nobody else."""
    return {
        "name": TLS_VOLUME,
        "secret": {
            "secretName": secret,
            "items": [
                {"key": CERTIFICATE_KEY, "path": CERTIFICATE_KEY},
                {"key": PRIVATE_KEY_KEY, "path": PRIVATE_KEY_KEY},
            ],
            "defaultMode": 0o440,
        },
    }


def tls_mount() -> dict[str, Any]:
    return {"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True}


def tls_env() -> list[dict[str, Any]]:
    """Where the gateway finds what it serves HTTPS with (dataplane/wiring.py reads them)."""
    return [
        value_env("SWITCHBOARD_TLS_CERT_FILE", f"{TLS_DIR}/{CERTIFICATE_KEY}"),
        value_env("SWITCHBOARD_TLS_KEY_FILE", f"{TLS_DIR}/{PRIVATE_KEY_KEY}"),
    ]


def tls_annotations(digest: str) -> Mapping[str, str]:
    """The pod template's record of the served Secret's contents: a new one rolls the pods."""
    return {TLS_HASH_ANNOTATION: digest}
