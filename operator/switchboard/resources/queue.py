"""The built-in queue: a one-node RabbitMQ StatefulSet, its headless Service and credentials."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.built_in import built_in_credentials, built_in_service
from switchboard.resources.common import QUEUE, QUEUE_PORT, Manifest, ResourceDefaults

PORT_NAME = "amqp"
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
    )


def build_queue_secret(cc: ContactCenter, password: str) -> Manifest:
    """The queue's credentials, with the password the controller generated."""
    return built_in_credentials(
        cc, QUEUE, scheme="amqp", port=QUEUE_PORT, password=password, owned=True
    )
