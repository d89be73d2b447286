"""The built-in queue: a one-node RabbitMQ StatefulSet, its headless Service and credentials."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.built_in import ServedTls, built_in_credentials, built_in_service
from switchboard.resources.common import QUEUE, QUEUE_PORT, Manifest, ResourceDefaults
from switchboard.resources.tls import (
    CA_KEY,
    CERTIFICATE_KEY,
    PRIVATE_KEY_KEY,
    TLS_DIR,
    internal_tls_secret_name,
)

PORT_NAME = "amqp"
TLS_PORT_NAME = "amqps"
TLS_PORT = 5671
# The official image reads every file here after its own defaults.
TLS_CONFIG_PATH = "/etc/rabbitmq/conf.d/20-switchboard-tls.conf"
USER = 999  # the rabbitmq user of the official image
DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="250m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi"
)


def queue_image(cc: ContactCenter) -> str:
    """The RabbitMQ image: spec'd, or the official image of the spec'd version."""
    spec = cc.spec.queue
    return spec.image or f"docker.io/library/rabbitmq:{spec.effective_version}"


def build_queue(cc: ContactCenter, *, template_storage: str | None = None) -> list[Manifest]:
    """Headless Service and StatefulSet of the built-in RabbitMQ; nothing for an external queue."""
    if cc.spec.queue.external is not None:
        return []
    return built_in_service(
        cc,
        QUEUE,
        cc.spec.queue,
        container="rabbitmq",
        image=queue_image(cc),
        port=(PORT_NAME, QUEUE_PORT),
        credentials_env=("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"),
        data_dir="/var/lib/rabbitmq",  # also HOME, where the Erlang cookie lives
        user=USER,
        defaults=DEFAULT_RESOURCES,
        scratch_dirs={"tmp": "/tmp"},
        template_storage=template_storage,
        delete_volume_with_owner=True,
        tls=queue_tls(cc),
    )


def queue_tls(cc: ContactCenter) -> ServedTls | None:
    """Under internal TLS, a TLS listener on port amqps beside the plain one, which the
    NetworkPolicy then keeps every tier from (the image's defaults file declares the plain
    listener, so it is closed there rather than in the configuration). The tiers log in with a
    password: no client certificates."""
    secret = internal_tls_secret_name(cc)
    if secret is None:
        return None
    config = "\n".join(
        [
            f"listeners.ssl.default = {TLS_PORT}",
            f"ssl_options.cacertfile = {TLS_DIR}/{CA_KEY}",
            f"ssl_options.certfile = {TLS_DIR}/{CERTIFICATE_KEY}",
            f"ssl_options.keyfile = {TLS_DIR}/{PRIVATE_KEY_KEY}",
            "ssl_options.verify = verify_none",
            "ssl_options.fail_if_no_peer_cert = false",
            "",
        ]
    )
    return ServedTls(secret, TLS_CONFIG_PATH, config, port=(TLS_PORT_NAME, TLS_PORT))


def build_queue_secret(cc: ContactCenter, password: str) -> Manifest:
    """The queue's credentials, with the password the controller generated."""
    return built_in_credentials(
        cc, QUEUE, scheme="amqp", port=QUEUE_PORT, password=password, owned=True
    )
