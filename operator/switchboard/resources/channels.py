"""The channel gateways: per channel a Deployment and a Service named `<cc>-<channel>`."""

from __future__ import annotations

from switchboard.api.channels import Channel
from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import app_workload, default_image
from switchboard.resources.common import (
    Manifest,
    ResourceDefaults,
    child_name,
    gateway_component,
)
from switchboard.resources.wiring import ROUTING_DIR, routing_name

DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="100m", memory_request="128Mi", cpu_limit="1", memory_limit="512Mi"
)


def gateway_name(cc: ContactCenter, channel: Channel) -> str:
    return child_name(cc, channel.name)


def gateway_image(channel: Channel) -> str:
    """The channel's image, or Switchboard's gateway for its type."""
    return channel.image or default_image(f"gateway-{channel.type}")


def build_channels(cc: ContactCenter, wiring_hash: str) -> list[Manifest]:
    """The gateways of every channel."""
    return [
        manifest
        for channel in cc.spec.channels
        for manifest in build_gateway(cc, channel, wiring_hash)
    ]


def build_gateway(cc: ContactCenter, channel: Channel, wiring_hash: str) -> list[Manifest]:
    """One channel's gateway: it reads the routing file and, if any, the provider credentials."""
    credentials = (
        [{"secretRef": {"name": channel.credentials.secret_ref.name}}]
        if channel.credentials
        else []
    )
    return app_workload(
        cc,
        gateway_name(cc, channel),
        gateway_component(channel.name),
        image=gateway_image(channel),
        replicas=channel.replicas,
        wiring_hash=wiring_hash,
        env=[
            {"name": "SWITCHBOARD_CHANNEL_NAME", "value": channel.name},
            {"name": "SWITCHBOARD_CHANNEL_TYPE", "value": channel.type},
        ],
        env_from=credentials,
        resources=(DEFAULT_RESOURCES, channel.resources),
        volumes=[{"name": "routing", "configMap": {"name": routing_name(cc)}}],
        volume_mounts=[{"name": "routing", "mountPath": ROUTING_DIR, "readOnly": True}],
        service_type=channel.service_type,
    )
