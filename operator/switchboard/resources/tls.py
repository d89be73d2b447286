"""TLS of the gateways (`spec.tls`): the Secret they mount, and, with an issuer reference, the
cert-manager Certificate `<cc>-tls` that issues it; with `spec.tls.internal`, the Certificate
`<cc>-internal-tls` the built-in queue and database serve and the tiers verify them with.

The Secret's contents are not the builders' to read: the controller hashes them and passes the
digest in, so a renewed certificate rolls the gateways (and only them: the annotation is on
their pod template alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.tls import IssuerReference
from switchboard.resources.common import (
    CONTACT_CENTER,
    DATABASE,
    QUEUE,
    Manifest,
    child_name,
    object_meta,
    secret_key_env,
    service_host,
    standard_labels,
    value_env,
)

TLS_DIR = "/etc/switchboard/tls"
TLS_VOLUME = "tls"
CERTIFICATE_KEY = "tls.crt"
PRIVATE_KEY_KEY = "tls.key"
CA_KEY = "ca.crt"
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
    """The gateways' Certificate, of `spec.tls.issuerRef`."""
    tls = cc.spec.tls
    if tls is None or tls.issuer_ref is None:
        raise ValueError("a Certificate needs spec.tls.issuerRef")
    return _certificate(cc, certificate_name(cc), dns_names(cc), tls.issuer_ref)


def internal_tls_secret_name(cc: ContactCenter) -> str | None:
    """The Certificate of `spec.tls.internal` and its Secret, `<cc>-internal-tls`; None
    without internal TLS."""
    tls = cc.spec.tls
    return child_name(cc, "internal-tls") if tls is not None and tls.internal else None


def internal_dns_names(cc: ContactCenter) -> list[str]:
    """The names the tiers reach the built-in queue and database by (the URIs' hosts), and
    their short and fully qualified forms."""
    names = []
    for component, service in ((QUEUE, cc.spec.queue), (DATABASE, cc.spec.database)):
        if service.external is None:
            host = service_host(cc, component.name)
            names += [child_name(cc, component.name), host, f"{host}.cluster.local"]
    return names


def build_internal_certificate(cc: ContactCenter) -> Manifest:
    """The built-in queue's and database's Certificate, of `spec.tls.internal.issuerRef`."""
    name = internal_tls_secret_name(cc)
    if name is None or cc.spec.tls is None or cc.spec.tls.internal is None:
        raise ValueError("an internal Certificate needs spec.tls.internal")
    return _certificate(cc, name, internal_dns_names(cc), cc.spec.tls.internal.issuer_ref)


def _certificate(
    cc: ContactCenter, name: str, names: list[str], issuer: IssuerReference
) -> Manifest:
    """A Certificate and its Secret, both `name`. The Secret carries the standard labels too
    (cert-manager copies `secretTemplate` onto it), so the operator sees it change."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": object_meta(cc, name, CONTACT_CENTER),
        "spec": {
            "secretName": name,
            "secretTemplate": {"labels": standard_labels(cc, CONTACT_CENTER)},
            "dnsNames": names,
            "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": issuer.group},
        },
    }


def tls_volume(secret: str, *, with_ca: bool = False) -> dict[str, Any]:
    """The certificate and its key (and the CA that signed it, for a server that needs its
    chain), readable by the pod's group (fsGroup) and nobody else."""
    keys = [CERTIFICATE_KEY, PRIVATE_KEY_KEY, *([CA_KEY] if with_ca else [])]
    return {
        "name": TLS_VOLUME,
        "secret": {
            "secretName": secret,
            "items": [{"key": key, "path": key} for key in keys],
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


def internal_ca_env(cc: ContactCenter, variable: str) -> list[dict[str, Any]]:
    """`variable` holding the CA the built-in queue's and database's certificate is verified
    with, under internal TLS (nothing without)."""
    secret = internal_tls_secret_name(cc)
    return [secret_key_env(variable, secret, CA_KEY)] if secret else []


def tls_annotations(digest: str) -> Mapping[str, str]:
    """The pod template's record of the served Secret's contents: a new one rolls the pods."""
    return {TLS_HASH_ANNOTATION: digest}
