"""The queue and the database: each a built-in service run here, or an external one."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from switchboard.api.common import Resources, SecretKeySelector, SecretReference
from switchboard.api.rules import Rule
from switchboard.api.types import (
    ApiModel,
    Image,
    SecretKey,
    SecretName,
    StorageQuantity,
    parse_quantity,
)

DEFAULT_QUEUE_VERSION = "4.1"
DEFAULT_QUEUE_STORAGE = "2Gi"
DEFAULT_DATABASE_VERSION = "16"
DEFAULT_DATABASE_STORAGE = "20Gi"


class CaReference(SecretReference):
    """A key of a Secret in the ContactCenter's namespace holding a CA certificate (PEM)."""

    key: SecretKey = Field(
        "ca.crt", description="Key of the Secret whose value is the CA certificate (PEM)."
    )


class External(ApiModel):
    """A service run outside this ContactCenter, reached through a Secret."""

    RULES = (
        Rule(
            "has(self.secretRef)",
            "external.secretRef is required: name the Secret holding the connection URI",
            lambda external: external.secret_ref is not None,
        ),
    )

    secret_ref: SecretKeySelector | None = Field(
        None,
        description=(
            "The Secret holding the connection URI. Workloads read it as an environment "
            "variable; change the Secret's name or key to roll them."
        ),
    )
    ca_ref: CaReference | None = Field(
        None,
        description=(
            "The CA (a PEM certificate) the service's TLS certificate is verified with, "
            "beside the system's. Given, the workloads reach the service over TLS only and "
            "check its certificate and name: the queue's URI must be `amqps://`, the "
            "database's may not say `sslmode=disable`. Unset, the URI alone decides "
            "(`amqps://` verifies against the system's CAs; PostgreSQL's `sslmode`). Change "
            "the Secret's name or key to roll the workloads."
        ),
    )


# The fields that configure a built-in service; an external one excludes them.
BUILT_IN_FIELDS = ("version", "storage", "storageClassName", "image", "resources")
MIN_STORAGE = "64Mi"


def _minimum_storage(service: str) -> Rule:
    return Rule(
        f"!isQuantity(self) || quantity(self).compareTo(quantity('{MIN_STORAGE}')) >= 0",
        f"{service}.storage must be at least {MIN_STORAGE}",
        lambda storage: parse_quantity(storage) >= parse_quantity(MIN_STORAGE),
    )


def _immutable(field: str) -> Rule:
    return Rule("self == oldSelf", f"{field} is immutable: create a new ContactCenter to change it")


def _built_in_service_rules(service: str, default_storage: str) -> tuple[Rule, ...]:
    """External excludes the built-in fields; storage only grows; the StorageClass stays.

    The update-time rules compare effective values, so they need the defaults.
    """
    built_in = " || ".join(f"has(self.{name})" for name in BUILT_IN_FIELDS)

    def external_alone(spec: BuiltInService) -> bool:
        fields = type(spec).model_fields
        given = {fields[name].alias or name for name in spec.model_fields_set}
        return spec.external is None or not given & set(BUILT_IN_FIELDS)

    def storage(obj: str) -> str:
        return f"(has({obj}.storage) ? {obj}.storage : '{default_storage}')"

    def storage_class(obj: str) -> str:
        return f"(has({obj}.storageClassName) ? {obj}.storageClassName : '')"

    return (
        Rule(
            f"!has(self.external) || !({built_in})",
            f"{service}.external cannot be combined with "
            + ", ".join(BUILT_IN_FIELDS)
            + f": those configure the built-in {service}",
            external_alone,
        ),
        Rule(
            f"has(self.external) || has(oldSelf.external) || "
            f"!isQuantity({storage('self')}) || !isQuantity({storage('oldSelf')}) || "
            f"quantity({storage('self')}).compareTo(quantity({storage('oldSelf')})) >= 0",
            f"{service}.storage may grow but never shrink (a volume cannot shrink)",
        ),
        Rule(
            f"has(self.external) || has(oldSelf.external) || "
            f"{storage_class('self')} == {storage_class('oldSelf')}",
            f"{service}.storageClassName cannot change after creation",
        ),
    )


class BuiltInService(ApiModel):
    """Fields shared by the queue and the database: run one here, or use an external one."""

    # Set by each subclass.
    DEFAULT_STORAGE: ClassVar[str]

    version: str | None = None
    storage: StorageQuantity | None = None
    storage_class_name: SecretName | None = Field(
        None,
        description=(
            "StorageClass of the data volume; unset uses the cluster's default. Cannot change "
            "after creation."
        ),
    )
    image: Image | None = None
    resources: Resources | None = None
    external: External | None = None

    @property
    def effective_storage(self) -> str:
        """The data volume's size: spec'd, or the default."""
        return self.storage or self.DEFAULT_STORAGE


QueueVersion = Annotated[str, StringConstraints(max_length=16, pattern=r"^[0-9]+\.[0-9]+$")]


class Queue(BuiltInService):
    """The message queue between channels, bot and agents: a RabbitMQ here, or an external one."""

    RULES = _built_in_service_rules("queue", DEFAULT_QUEUE_STORAGE)
    DEFAULT_STORAGE: ClassVar[str] = DEFAULT_QUEUE_STORAGE

    engine: Annotated[Literal["RabbitMQ"], _immutable("queue.engine")] = Field(
        "RabbitMQ",
        description=("Queue engine (also the protocol an external queue must speak). Immutable."),
    )
    version: QueueVersion | None = Field(
        None,
        description=(
            f"RabbitMQ version, major.minor (default `{DEFAULT_QUEUE_VERSION}`). "
            "Built-in queue only."
        ),
    )
    storage: Annotated[StorageQuantity, _minimum_storage("queue")] | None = Field(
        None,
        description=(
            f"Size of the queue's data volume (default `{DEFAULT_QUEUE_STORAGE}`), a quantity "
            "such as `2Gi`. It may grow, never shrink. Built-in queue only."
        ),
    )
    image: Image | None = Field(
        None,
        description="RabbitMQ container image; defaults to the official image of `version`.",
    )
    resources: Resources | None = Field(
        None, description="Overrides of the RabbitMQ container's CPU and memory."
    )
    external: External | None = Field(
        None,
        description=(
            "Use a RabbitMQ-compatible queue run elsewhere instead of the built-in one. "
            "Excludes version, storage, storageClassName, image and resources."
        ),
    )

    @property
    def effective_version(self) -> str:
        """The RabbitMQ version to run."""
        return self.version or DEFAULT_QUEUE_VERSION


class Database(BuiltInService):
    """Conversation history, customer profiles, tickets: a PostgreSQL here, or an external one."""

    RULES = (
        *_built_in_service_rules("database", DEFAULT_DATABASE_STORAGE),
        Rule(
            "has(self.external) || has(oldSelf.external) || "
            f"(has(self.version) ? self.version : '{DEFAULT_DATABASE_VERSION}') == "
            f"(has(oldSelf.version) ? oldSelf.version : '{DEFAULT_DATABASE_VERSION}')",
            "database.version cannot change: a PostgreSQL major upgrade needs a dump and "
            "restore into a new ContactCenter",
        ),
    )
    DEFAULT_STORAGE: ClassVar[str] = DEFAULT_DATABASE_STORAGE

    engine: Annotated[Literal["PostgreSQL"], _immutable("database.engine")] = Field(
        "PostgreSQL",
        description="Database engine (also what an external database must be). Immutable.",
    )
    version: Literal["14", "15", "16", "17"] | None = Field(
        None,
        description=(
            f"PostgreSQL major version (default `{DEFAULT_DATABASE_VERSION}`). Cannot change "
            "after creation. Built-in database only."
        ),
    )
    storage: Annotated[StorageQuantity, _minimum_storage("database")] | None = Field(
        None,
        description=(
            f"Size of the database volume (default `{DEFAULT_DATABASE_STORAGE}`), a quantity "
            "such as `20Gi`. It may grow, never shrink. Built-in database only."
        ),
    )
    image: Image | None = Field(
        None,
        description="PostgreSQL container image; defaults to the official image of `version`.",
    )
    resources: Resources | None = Field(
        None, description="Overrides of the PostgreSQL container's CPU and memory."
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        "Retain",
        description=(
            "What happens to the data volume and its credentials Secret when the ContactCenter "
            "is deleted: `Retain` keeps them (a ContactCenter of the same name finds its data "
            "again), `Delete` removes them with it."
        ),
    )
    external: External | None = Field(
        None,
        description=(
            "Use a PostgreSQL database run elsewhere instead of the built-in one. Excludes "
            "version, storage, storageClassName, image and resources."
        ),
    )

    @property
    def effective_version(self) -> str:
        """The PostgreSQL major version to run."""
        return self.version or DEFAULT_DATABASE_VERSION
