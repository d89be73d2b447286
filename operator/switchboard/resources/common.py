"""Shapes every builder shares: names, labels, owner reference, Pod Security, workloads, services.

The restricted Pod Security settings live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from switchboard import GROUP, VERSION
from switchboard.api.agents import Agents
from switchboard.api.bot import Bot
from switchboard.api.common import Resources
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import parse_quantity

Manifest = dict[str, Any]

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PART_OF = "switchboard"
MANAGED_BY = "switchboard"


# --- names and labels ------------------------------------------------------------------------


def child_name(cc: ContactCenter, suffix: str) -> str:
    """`<contactcenter>-<suffix>`: every child is named after its ContactCenter."""
    return f"{cc.name}-{suffix}"


def credentials_secret_name(cc: ContactCenter, component: str) -> str:
    """The generated Secret of a built-in service: `<contactcenter>-<component>-credentials`."""
    return child_name(cc, f"{component}-credentials")


def service_host(cc: ContactCenter, component: str) -> str:
    """DNS name of a component's Service, `<contactcenter>-<component>.<namespace>.svc`."""
    return f"{child_name(cc, component)}.{cc.namespace}.svc"


@dataclass(frozen=True)
class Component:
    """A part of the contact center: what its objects are labelled with and selected by."""

    name: str
    """The `app.kubernetes.io/component` label: gateway, bot, agents, queue, database, ..."""
    app: str
    """The `app.kubernetes.io/name` label: the application that runs (rabbitmq, postgresql, ...)."""
    selector_extra: Mapping[str, str] = field(default_factory=dict)
    """Labels that tell apart several workloads of one component (the channel of a gateway)."""


CHANNEL_LABEL = "switchboard.io/channel"
TRACK_LABEL = "switchboard.io/track"
STABLE_TRACK = "stable"


GATEWAY = "gateway"


def gateway_component(channel: str) -> Component:
    """The gateway of one channel."""
    return Component(GATEWAY, "switchboard-gateway", {CHANNEL_LABEL: channel})


def bot_component(track: str) -> Component:
    """The bot pods of one track: the stable one, or a canary's beside it during a rollout."""
    return Component("bot", "switchboard-bot", {TRACK_LABEL: track})


BOT = bot_component(STABLE_TRACK)
AGENTS = Component("agents", "switchboard-agents")
QUEUE = Component("queue", "rabbitmq")
DATABASE = Component("database", "postgresql")
WIRING = Component("wiring", "switchboard")
CONTACT_CENTER = Component("contact-center", "switchboard")
"""Objects that concern the whole contact center (its default-deny NetworkPolicy)."""

HTTP_PORT = 8080
METRICS_PORT = 9090
SMTP_PORT = 2525
"""An email gateway's SMTP server (above 1024: the container runs as a user, not root)."""
QUEUE_PORT = 5672
DATABASE_PORT = 5432
SERVICE_USERNAME = "switchboard"
"""The user the workloads log into the built-in queue and database as."""


def selector_labels(cc: ContactCenter, component: Component) -> dict[str, str]:
    """The stable labels a workload selects its pods by (they never change once created)."""
    return {INSTANCE_LABEL: cc.name, COMPONENT_LABEL: component.name, **component.selector_extra}


def instance_selector(cc: ContactCenter) -> dict[str, str]:
    """Every pod of this contact center."""
    return {INSTANCE_LABEL: cc.name, PART_OF_LABEL: PART_OF}


def standard_labels(cc: ContactCenter, component: Component) -> dict[str, str]:
    """The `app.kubernetes.io/*` labels every child carries."""
    return {
        NAME_LABEL: component.app,
        INSTANCE_LABEL: cc.name,
        COMPONENT_LABEL: component.name,
        PART_OF_LABEL: PART_OF,
        MANAGED_BY_LABEL: MANAGED_BY,
        **component.selector_extra,
    }


def owner_reference(cc: ContactCenter) -> dict[str, Any]:
    """The reference that makes Kubernetes delete a child with its ContactCenter."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ContactCenter",
        "name": cc.name,
        "uid": cc.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def object_meta(
    cc: ContactCenter,
    name: str,
    component: Component,
    *,
    annotations: Mapping[str, str] | None = None,
    owned: bool = True,
) -> dict[str, Any]:
    """metadata of a child: name, namespace, standard labels and (when owned) the owner reference.

    A ContactCenter read from a file has no uid yet; its children then carry no owner reference
    (`switchboard render` says so).
    """
    meta: dict[str, Any] = {
        "name": name,
        "namespace": cc.namespace,
        "labels": standard_labels(cc, component),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    if owned and cc.metadata.uid:
        meta["ownerReferences"] = [owner_reference(cc)]
    return meta


# --- replicas --------------------------------------------------------------------------------


def desired_replicas(workload: Bot | Agents, decided: int | None) -> int:
    """Replicas to run: the spec's, or with autoscaling the decision kept within min and max.

    Without a decision yet (a new ContactCenter, or an autoscaler that has no metrics), an
    autoscaled workload starts at minReplicas.
    """
    scaling = workload.autoscaling
    if scaling is None:
        return workload.replicas
    wanted = scaling.min_replicas if decided is None else decided
    return max(scaling.min_replicas, min(scaling.max_replicas, wanted))


def most_replicas(workload: Bot | Agents) -> int:
    """The most replicas the workload may run under its spec."""
    return workload.autoscaling.max_replicas if workload.autoscaling else workload.replicas


# --- containers ------------------------------------------------------------------------------


def restricted_pod_security_context(user: int) -> dict[str, Any]:
    """Pod-level settings of Pod Security `restricted`, running as `user` (never root)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_security_context() -> dict[str, Any]:
    """Container-level settings of Pod Security `restricted`, with a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@dataclass(frozen=True)
class ResourceDefaults:
    """A component's default CPU and memory."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


def resource_requirements(defaults: ResourceDefaults, override: Resources | None) -> dict[str, Any]:
    """Requests and limits: the defaults, overridden value by value.

    A spec'd value wins over a default on the other side: a default limit rises to a larger
    spec'd request, a default request falls to a smaller spec'd limit (the schema already
    refuses a spec'd request above a spec'd limit).
    """
    asked_requests = (
        override.requests.model_dump(exclude_none=True) if override and override.requests else {}
    )
    asked_limits = (
        override.limits.model_dump(exclude_none=True) if override and override.limits else {}
    )
    requests = {"cpu": defaults.cpu_request, "memory": defaults.memory_request, **asked_requests}
    limits = {"cpu": defaults.cpu_limit, "memory": defaults.memory_limit, **asked_limits}
    for resource in ("cpu", "memory"):
        if parse_quantity(requests[resource]) <= parse_quantity(limits[resource]):
            continue
        if resource in asked_limits and resource not in asked_requests:
            requests[resource] = limits[resource]
        elif resource not in asked_limits:
            limits[resource] = requests[resource]
    return {"requests": requests, "limits": limits}


def container_port(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "containerPort": port, "protocol": "TCP"}


def http_probes(port_name: str, scheme: str = "HTTP") -> dict[str, Any]:
    """Readiness on /readyz and liveness on /healthz of the named container port, over HTTP
    or (a port serving TLS) HTTPS."""
    return {
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": port_name, "scheme": scheme},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": port_name, "scheme": scheme},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
    }


def tcp_probes(port_name: str) -> dict[str, Any]:
    """Readiness and liveness by opening the named container port."""
    return {
        "readinessProbe": {"tcpSocket": {"port": port_name}, "periodSeconds": 5},
        "livenessProbe": {
            "tcpSocket": {"port": port_name},
            "initialDelaySeconds": 30,
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
    }


def empty_dir(name: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": {}}


def pod_template(
    cc: ContactCenter,
    component: Component,
    *,
    containers: Sequence[Mapping[str, Any]],
    user: int,
    volumes: Sequence[Mapping[str, Any]] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    termination_grace_period_seconds: int = 30,
) -> dict[str, Any]:
    """A pod template admitted under Pod Security `restricted`, without a service account token."""
    metadata: dict[str, Any] = {"labels": {**standard_labels(cc, component), **(labels or {})}}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "metadata": metadata,
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": restricted_pod_security_context(user),
            "terminationGracePeriodSeconds": termination_grace_period_seconds,
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": selector_labels(cc, component)},
                }
            ],
            "containers": [
                {**c, "securityContext": restricted_container_security_context()}
                for c in containers
            ],
            "volumes": list(volumes),
        },
    }


# --- credentials ----------------------------------------------------------------------------

SECRET_USERNAME_KEY = "username"
SECRET_PASSWORD_KEY = "password"
SECRET_URI_KEY = "uri"
"""The key every credentials Secret (generated or external) holds the connection URI under."""


def credentials_secret(
    cc: ContactCenter, component: Component, values: Mapping[str, str], *, owned: bool
) -> Manifest:
    """A generated credentials Secret of a built-in service."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(
            cc, credentials_secret_name(cc, component.name), component, owned=owned
        ),
        "type": "Opaque",
        "stringData": dict(values),
    }


def value_env(name: str, value: str | float) -> dict[str, Any]:
    """An environment variable with a value of its own; a number as its shortest text (`0.6`,
    `30` for 30.0)."""
    if not isinstance(value, str):
        value = str(int(value)) if float(value).is_integer() else repr(float(value))
    return {"name": name, "value": value}


def secret_key_env(name: str, secret: str, key: str) -> dict[str, Any]:
    """An environment variable read from one key of a Secret."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def pod_field_env(name: str, field_path: str) -> dict[str, Any]:
    """An environment variable holding a field of the pod itself (`metadata.name`)."""
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


# --- workloads and services ------------------------------------------------------------------


def deployment(
    cc: ContactCenter,
    name: str,
    component: Component,
    *,
    replicas: int,
    template: Mapping[str, Any],
    annotations: Mapping[str, str] | None = None,
) -> Manifest:
    """A Deployment that rolls without losing capacity (one extra pod at a time, none missing)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(cc, name, component, annotations=annotations),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector_labels(cc, component)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": dict(template),
        },
    }


def stateful_set(
    cc: ContactCenter,
    name: str,
    component: Component,
    *,
    template: Mapping[str, Any],
    storage: str,
    storage_class_name: str | None,
    delete_volume_with_owner: bool,
    data_volume: str = "data",
) -> Manifest:
    """A one-pod StatefulSet with a data volume claim (storage class: the cluster's default).

    `delete_volume_with_owner` decides whether the claim goes when the StatefulSet (and so the
    ContactCenter) is deleted, or stays for a ContactCenter of the same name to find again.
    """
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage}},
    }
    if storage_class_name:
        claim_spec["storageClassName"] = storage_class_name
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_meta(cc, name, component),
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "revisionHistoryLimit": 5,
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": selector_labels(cc, component)},
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Delete" if delete_volume_with_owner else "Retain",
                "whenScaled": "Retain",
            },
            "template": dict(template),
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": data_volume,
                        "labels": standard_labels(cc, component),
                    },
                    "spec": claim_spec,
                }
            ],
        },
    }


def service_port(name: str, port: int) -> dict[str, Any]:
    """A Service port that forwards to the container port of the same name."""
    return {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}


def service(
    cc: ContactCenter,
    name: str,
    component: Component,
    *,
    ports: Sequence[Mapping[str, Any]],
    service_type: str = "ClusterIP",
    headless: bool = False,
) -> Manifest:
    """A Service in front of the component's pods (headless: DNS names for a StatefulSet)."""
    spec: dict[str, Any] = {
        "type": service_type,
        "selector": selector_labels(cc, component),
        "ports": [dict(port) for port in ports],
    }
    if headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(cc, name, component),
        "spec": spec,
    }
