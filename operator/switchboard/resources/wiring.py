"""The wiring: what every gateway, bot and agent pod is told (docs/dataplane.md).

Two ConfigMaps. `<cc>-wiring` (who they are, their ports, the SLA policy answers are measured
against) becomes environment variables; its content hash is an annotation on the pod templates,
so changing it rolls those pods. `<cc>-routing` (the bot tracks new conversations go to, by
weight) is a mounted file the gateways re-read, so a canary step moves traffic without
restarting anything. The queue and the database are reached by URIs from Secrets (they hold
passwords); what only one role reads is that role's own environment (see its builder).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.services import Database, Queue
from switchboard.resources.common import (
    DATABASE,
    HTTP_PORT,
    METRICS_PORT,
    QUEUE,
    SECRET_URI_KEY,
    WIRING,
    Manifest,
    child_name,
    credentials_secret_name,
    object_meta,
    secret_key_env,
    value_env,
)
from switchboard.resources.decisions import Route
from switchboard.resources.queue import TLS_PORT as QUEUE_TLS_PORT
from switchboard.resources.tls import internal_ca_env, internal_tls_secret_name

WIRING_HASH_ANNOTATION = "switchboard.io/wiring-hash"
ROUTING_DIR = "/etc/switchboard/routing"
ROUTING_KEY = "routing.json"


def wiring_name(cc: ContactCenter) -> str:
    return child_name(cc, "wiring")


def routing_name(cc: ContactCenter) -> str:
    return child_name(cc, "routing")


def wiring_data(cc: ContactCenter) -> dict[str, str]:
    """The environment every gateway, bot and agent pod gets (no secrets)."""
    spec = cc.spec
    data = {
        "SWITCHBOARD_CONTACT_CENTER": cc.name,
        "SWITCHBOARD_NAMESPACE": cc.namespace,
        "SWITCHBOARD_HTTP_PORT": str(HTTP_PORT),
        "SWITCHBOARD_METRICS_PORT": str(METRICS_PORT),
        "SWITCHBOARD_ROUTING_FILE": f"{ROUTING_DIR}/{ROUTING_KEY}",
        "SWITCHBOARD_SLA_TARGET": str(spec.sla.service_level.target),
        "SWITCHBOARD_SLA_ANSWER_WITHIN_SECONDS": str(spec.sla.service_level.answer_within_seconds),
        "SWITCHBOARD_SLA_MAX_ABANDON_RATE": str(spec.sla.max_abandon_rate),
        "SWITCHBOARD_PII_MASKING": str(spec.data_protection.pii_masking).lower(),
    }
    return data


def wiring_hash(data: Mapping[str, str]) -> str:
    """A digest of the wiring ConfigMap's data: equal data, equal hash, whatever the order."""
    canonical = json.dumps(dict(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def build_wiring(cc: ContactCenter) -> Manifest:
    """The wiring ConfigMap."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(cc, wiring_name(cc), WIRING),
        "data": wiring_data(cc),
    }


def routing_document(routes: Sequence[Route]) -> dict[str, Any]:
    """Where the gateways send new conversations, by weight per bot track; a conversation
    stays on the track it started on. One track until a canary runs beside it."""
    return {
        "bot": [
            {"track": route.track, "version": route.version, "weight": route.weight}
            for route in routes
        ],
    }


def build_routing(cc: ContactCenter, routes: Sequence[Route]) -> Manifest:
    """The routing ConfigMap the gateways mount."""
    document = json.dumps(routing_document(routes), indent=2, sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(cc, routing_name(cc), WIRING),
        "data": {ROUTING_KEY: document + "\n"},
    }


def connection_env(cc: ContactCenter) -> list[dict[str, Any]]:
    """SWITCHBOARD_QUEUE_URI and SWITCHBOARD_DATABASE_URI, read from the generated Secrets or,
    for external services, from the Secrets the spec names; with the CA each is verified with,
    where there is one (external.caRef, or internal TLS's issued CA), and under internal TLS
    the built-in queue's TLS port (its URI names the plain one)."""
    queue_tls = (
        [value_env("SWITCHBOARD_QUEUE_TLS_PORT", QUEUE_TLS_PORT)]
        if cc.spec.queue.external is None and internal_tls_secret_name(cc)
        else []
    )
    return [
        *_service_env(cc, "SWITCHBOARD_QUEUE", QUEUE.name, cc.spec.queue),
        *queue_tls,
        *database_env(cc),
    ]


def database_env(cc: ContactCenter) -> list[dict[str, Any]]:
    return _service_env(cc, "SWITCHBOARD_DATABASE", DATABASE.name, cc.spec.database)


def _service_env(
    cc: ContactCenter, prefix: str, component: str, service: Queue | Database
) -> list[dict[str, Any]]:
    if service.external is None:
        return [
            secret_key_env(f"{prefix}_URI", credentials_secret_name(cc, component), SECRET_URI_KEY),
            *internal_ca_env(cc, f"{prefix}_CA"),
        ]
    env = []
    if service.external.secret_ref is not None:
        reference = service.external.secret_ref
        env.append(secret_key_env(f"{prefix}_URI", reference.name, reference.key))
    if service.external.ca_ref is not None:
        ca = service.external.ca_ref
        env.append(secret_key_env(f"{prefix}_CA", ca.name, ca.key))
    return env
