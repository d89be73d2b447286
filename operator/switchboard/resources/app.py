"""The shape the three Switchboard workloads share: gateways, bot and agent workspace.

Each is a Deployment and a Service with an HTTP port and a metrics port, HTTP probes, the
wiring as environment (its hash on the pod template), the queue and database URIs from Secrets,
the pod's own name (to tell replicas apart), and a writable /tmp on an otherwise read-only root
filesystem. One image runs every role: the container's arguments name it (`switchboard
gateway`, `bot`, `agents`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from switchboard import __version__
from switchboard.api.common import Resources
from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.common import (
    HTTP_PORT,
    METRICS_PORT,
    Component,
    Manifest,
    ResourceDefaults,
    container_port,
    deployment,
    empty_dir,
    http_probes,
    pod_field_env,
    pod_template,
    resource_requirements,
    service,
    service_port,
)
from switchboard.resources.wiring import WIRING_HASH_ANNOTATION, connection_env, wiring_name

IMAGE = "ghcr.io/switchboard-io/switchboard"
USER = 65532  # the image's non-root user
HTTP_PORT_NAME = "http"
METRICS_PORT_NAME = "metrics"
SMTP_PORT_NAME = "smtp"


def default_image() -> str:
    """Switchboard's image, at the operator's release: it runs every role."""
    return f"{IMAGE}:{__version__}"


def app_workload(
    cc: ContactCenter,
    name: str,
    component: Component,
    *,
    role: str,
    image: str,
    replicas: int,
    wiring_hash: str,
    env: Sequence[Mapping[str, Any]],
    resources: tuple[ResourceDefaults, Resources | None],
    env_from: Sequence[Mapping[str, Any]] = (),
    volumes: Sequence[Mapping[str, Any]] = (),
    volume_mounts: Sequence[Mapping[str, Any]] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    deployment_annotations: Mapping[str, str] | None = None,
    service_type: str = "ClusterIP",
    ports: Sequence[tuple[str, int]] = (),
    probe_scheme: str = "HTTP",
) -> list[Manifest]:
    """Deployment and Service of one Switchboard workload; `annotations` go on its pods,
    `deployment_annotations` on the Deployment itself; `ports` are named ports beside http and
    metrics, on the container and the Service alike; `probe_scheme` is HTTPS where the http
    port serves TLS."""
    container = {
        "name": component.name,
        "image": image,
        "args": [role],
        "ports": [
            container_port(HTTP_PORT_NAME, HTTP_PORT),
            container_port(METRICS_PORT_NAME, METRICS_PORT),
            *(container_port(name, number) for name, number in ports),
        ],
        "envFrom": [{"configMapRef": {"name": wiring_name(cc)}}, *env_from],
        "env": [
            *connection_env(cc),
            pod_field_env("SWITCHBOARD_POD_NAME", "metadata.name"),
            *env,
        ],
        "resources": resource_requirements(*resources),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *volume_mounts],
        **http_probes(HTTP_PORT_NAME, probe_scheme),
    }
    template = pod_template(
        cc,
        component,
        containers=[container],
        user=USER,
        volumes=[empty_dir("tmp"), *volumes],
        labels=labels,
        annotations={
            WIRING_HASH_ANNOTATION: wiring_hash,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(METRICS_PORT),
            "prometheus.io/path": "/metrics",
            **(annotations or {}),
        },
    )
    return [
        deployment(
            cc,
            name,
            component,
            replicas=replicas,
            template=template,
            annotations=deployment_annotations,
        ),
        service(
            cc,
            name,
            component,
            ports=[
                service_port(HTTP_PORT_NAME, HTTP_PORT),
                service_port(METRICS_PORT_NAME, METRICS_PORT),
                *(service_port(name, number) for name, number in ports),
            ],
            service_type=service_type,
        ),
    ]
