"""The channel gateways: per channel a Deployment and a Service named `<cc>-<channel>`."""

from __future__ import annotations

from switchboard.api.channels import TOKEN_CHANNEL_TYPES, Channel, Email
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import duration_seconds
from switchboard.resources.app import SMTP_PORT_NAME, app_workload, default_image
from switchboard.resources.common import (
    SMTP_PORT,
    Manifest,
    ResourceDefaults,
    child_name,
    gateway_component,
    secret_key_env,
    value_env,
)
from switchboard.resources.secrets import TOKEN_KEY, api_token_secret_name
from switchboard.resources.tls import (
    tls_annotations,
    tls_env,
    tls_mount,
    tls_secret_name,
    tls_volume,
)
from switchboard.resources.wiring import ROUTING_DIR, routing_name

DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="100m", memory_request="128Mi", cpu_limit="1", memory_limit="512Mi"
)


def gateway_name(cc: ContactCenter, channel: Channel) -> str:
    return child_name(cc, channel.name)


def gateway_image(channel: Channel) -> str:
    """The channel's image, or Switchboard's (its gateway serves every channel type)."""
    return channel.image or default_image()


def build_channels(cc: ContactCenter, wiring_hash: str, tls_hash: str = "") -> list[Manifest]:
    """The gateways of every channel; `tls_hash` digests the contents of the Secret they serve
    TLS with (`spec.tls`)."""
    return [
        manifest
        for channel in cc.spec.channels
        for manifest in build_gateway(cc, channel, wiring_hash, tls_hash)
    ]


def build_gateway(
    cc: ContactCenter, channel: Channel, wiring_hash: str, tls_hash: str = ""
) -> list[Manifest]:
    """One channel's gateway: it reads the routing file, the provider credentials if any, the
    channel's token (`<cc>-<channel>-token`: an `api` channel's bearer token, the signing key
    of an `sms`, `whatsapp` or `social` channel), where its provider takes replies, and an
    `email` channel's address and relay (its SMTP server is the port `smtp`); with `spec.tls`,
    it serves HTTPS with the mounted certificate, and a change of that certificate (`tls_hash`)
    rolls it."""
    credentials = (
        [{"secretRef": {"name": channel.credentials.secret_ref.name}}]
        if channel.credentials
        else []
    )
    token = (
        [secret_key_env("SWITCHBOARD_API_TOKEN", api_token_secret_name(cc, channel), TOKEN_KEY)]
        if channel.type in TOKEN_CHANNEL_TYPES
        else []
    )
    provider = (
        [value_env("SWITCHBOARD_PROVIDER_URL", channel.provider.url)] if channel.provider else []
    )
    email = email_env(channel.email) if channel.email else []
    secret = tls_secret_name(cc)
    return app_workload(
        cc,
        gateway_name(cc, channel),
        gateway_component(channel.name),
        role="gateway",
        image=gateway_image(channel),
        replicas=channel.replicas,
        wiring_hash=wiring_hash,
        env=[
            value_env("SWITCHBOARD_CHANNEL_NAME", channel.name),
            value_env("SWITCHBOARD_CHANNEL_TYPE", channel.type),
            value_env(
                "SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS",
                duration_seconds(cc.spec.quality.first_contact_resolution_window),
            ),
            *token,
            *provider,
            *email,
            *(tls_env() if secret else []),
        ],
        env_from=credentials,
        resources=(DEFAULT_RESOURCES, channel.resources),
        volumes=[
            {"name": "routing", "configMap": {"name": routing_name(cc)}},
            *([tls_volume(secret)] if secret else []),
        ],
        volume_mounts=[
            {"name": "routing", "mountPath": ROUTING_DIR, "readOnly": True},
            *([tls_mount()] if secret else []),
        ],
        annotations=tls_annotations(tls_hash) if secret else None,
        service_type=channel.service_type,
        ports=[(SMTP_PORT_NAME, SMTP_PORT)] if channel.email else [],
        probe_scheme="HTTPS" if secret else "HTTP",
    )


def email_env(email: Email) -> list[Manifest]:
    """An email gateway's SMTP server port, its address and its relay (with the relay's login
    from the referenced Secret's `username` and `password`)."""
    relay = email.smtp
    login = (
        [
            secret_key_env(
                "SWITCHBOARD_SMTP_RELAY_USERNAME", relay.credentials_ref.name, "username"
            ),
            secret_key_env(
                "SWITCHBOARD_SMTP_RELAY_PASSWORD", relay.credentials_ref.name, "password"
            ),
        ]
        if relay.credentials_ref
        else []
    )
    return [
        value_env("SWITCHBOARD_SMTP_PORT", SMTP_PORT),
        value_env("SWITCHBOARD_EMAIL_ADDRESS", email.address),
        value_env("SWITCHBOARD_SMTP_RELAY_HOST", relay.host),
        value_env("SWITCHBOARD_SMTP_RELAY_PORT", relay.port),
        value_env("SWITCHBOARD_SMTP_RELAY_STARTTLS", "true" if relay.start_tls else "false"),
        *login,
    ]
