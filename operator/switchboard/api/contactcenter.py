"""The ContactCenter API: the spec a platform engineer writes, and the resource kopf hands over.

These models are the source of truth: the CRD (`switchboard crd`) and the API reference are
generated from them. Every constraint the apiserver enforces with a CEL rule is mirrored by a
pydantic validator, so `switchboard render` rejects the same manifests `kubectl apply` does
(except the update-time rules, which need the old object).
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from switchboard.api.status import ContactCenterStatus
from switchboard.api.types import (
    CAMEL_CASE,
    DNS_LABEL_PATTERN,
    ApiModel,
    ChannelName,
    Duration,
    HttpURL,
    Image,
    MetricName,
    ModelName,
    ModelURI,
    ModelVersion,
    PromQL,
    ResourceQuantity,
    SecretKey,
    SecretName,
    StorageQuantity,
    cel,
    defaulted,
    duration_at_least,
    duration_seconds,
    parse_quantity,
    validations,
)

# A ContactCenter's name prefixes every child's name; the longest child name
# (`<name>-database-credentials`, and the StatefulSet's revision label) must stay within 63.
MAX_NAME_LENGTH = 40
# Children of these names exist beside the channel gateways (`<name>-<channel>`), so a
# channel may not take them.
RESERVED_CHANNEL_NAMES = ("bot", "bot-canary", "agents", "queue", "database")
MAX_CHANNELS = 16
MAX_REPLICAS = 1000

ChannelType = Literal[
    "webchat", "voice", "video", "email", "sms", "whatsapp", "social", "app", "api"
]
CHANNEL_TYPES: tuple[ChannelType, ...] = (
    "webchat",
    "voice",
    "video",
    "email",
    "sms",
    "whatsapp",
    "social",
    "app",
    "api",
)

DEFAULT_QUEUE_VERSION = "4.1"
DEFAULT_QUEUE_STORAGE = "2Gi"
DEFAULT_DATABASE_VERSION = "16"
DEFAULT_DATABASE_STORAGE = "20Gi"


def _in_reserved(expression: str) -> str:
    names = ", ".join(f"'{name}'" for name in RESERVED_CHANNEL_NAMES)
    return f"{expression} in [{names}]"


# --- shared parts ----------------------------------------------------------------------------


class ResourceList(ApiModel):
    """An amount of CPU and memory."""

    cpu: ResourceQuantity | None = Field(
        None, description="CPU, in cores (`1`) or millicores (`500m`)."
    )
    memory: ResourceQuantity | None = Field(
        None, description="Memory, in bytes with a suffix (`256Mi`, `1Gi`)."
    )


def _request_within_limit(resource: str) -> dict[str, str]:
    request, limit = f"self.requests.{resource}", f"self.limits.{resource}"
    return cel(
        f"!has(self.requests) || !has(self.limits) || !has({request}) || !has({limit}) || "
        f"!isQuantity(string({request})) || !isQuantity(string({limit})) || "
        f"quantity(string({request})).compareTo(quantity(string({limit}))) <= 0",
        f"resources.requests.{resource} must not exceed resources.limits.{resource}",
    )


class Resources(ApiModel):
    """Compute resources of a workload's main container; each value overrides its default."""

    model_config = ConfigDict(
        json_schema_extra=validations(_request_within_limit("cpu"), _request_within_limit("memory"))
    )

    requests: ResourceList | None = Field(
        None,
        description=(
            "What the scheduler reserves for each pod. Unset values keep the component's "
            "default, lowered to the limit when the limit is lower."
        ),
    )
    limits: ResourceList | None = Field(
        None,
        description=(
            "The most each pod may use. Unset values keep the component's default, raised to "
            "the request when the request is higher."
        ),
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Self:
        if self.requests is None or self.limits is None:
            return self
        for resource in ("cpu", "memory"):
            request = getattr(self.requests, resource)
            limit = getattr(self.limits, resource)
            if request and limit and parse_quantity(request) > parse_quantity(limit):
                raise ValueError(
                    f"resources.requests.{resource} must not exceed resources.limits.{resource}"
                )
        return self


class SecretReference(ApiModel):
    """A Secret in the ContactCenter's namespace."""

    name: SecretName = Field(description="Name of the Secret, in the ContactCenter's namespace.")


class SecretKeySelector(SecretReference):
    """A key of a Secret in the ContactCenter's namespace."""

    key: SecretKey = Field(
        "uri",
        description=(
            "Key of the Secret whose value is the connection URI "
            "(`amqp://user:password@host:5672/vhost`, `postgresql://user:password@host:5432/db`)."
        ),
    )


class External(ApiModel):
    """A service run outside this ContactCenter, reached through a Secret."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.secretRef)",
                "external.secretRef is required: name the Secret holding the connection URI",
            )
        )
    )

    secret_ref: SecretKeySelector | None = Field(
        None,
        description=(
            "The Secret holding the connection URI. Workloads read it as an environment "
            "variable; change the Secret's name or key to roll them."
        ),
    )

    @model_validator(mode="after")
    def _needs_secret_ref(self) -> Self:
        if self.secret_ref is None:
            raise ValueError(
                "external.secretRef is required: name the Secret holding the connection URI"
            )
        return self


class ScalingBehavior(ApiModel):
    """How fast replicas may change in one direction."""

    stabilization_window: Duration = Field(
        description=(
            "The autoscaler acts on the most conservative recommendation of this window "
            "(the highest when scaling down, the lowest when scaling up). Format: a duration "
            "such as `0s`, `30s`, `5m`."
        ),
    )
    max_replicas_per_step: int = Field(
        description=(
            "At most this many replicas are added or removed in one decision "
            "(the larger of this and maxPercentPerStep applies)."
        ),
        ge=1,
        le=MAX_REPLICAS,
    )
    max_percent_per_step: int = Field(
        description=(
            "At most this percentage of the current replicas is added or removed in one "
            "decision (the larger of this and maxReplicasPerStep applies)."
        ),
        ge=1,
        le=1000,
    )


class ScaleUp(ScalingBehavior):
    """Scaling up: fast by default, so a surge is met."""

    stabilization_window: Duration = Field(
        "0s",
        description=(
            "Scale up to the lowest recommendation of this window; `0s` reacts at once. "
            "Format: a duration such as `0s`, `30s`, `5m`."
        ),
    )
    max_replicas_per_step: int = Field(
        4,
        description=(
            "At most this many replicas are added in one decision "
            "(the larger of this and maxPercentPerStep applies)."
        ),
        ge=1,
        le=MAX_REPLICAS,
    )
    max_percent_per_step: int = Field(
        100,
        description=(
            "At most this percentage of the current replicas is added in one decision "
            "(the larger of this and maxReplicasPerStep applies)."
        ),
        ge=1,
        le=1000,
    )


class ScaleDown(ScalingBehavior):
    """Scaling down: slow by default, so a short lull does not strand the next wave."""

    stabilization_window: Duration = Field(
        "5m",
        description=(
            "Scale down only to the highest recommendation of this window. "
            "Format: a duration such as `0s`, `30s`, `5m`."
        ),
    )
    max_replicas_per_step: int = Field(
        1,
        description=(
            "At most this many replicas are removed in one decision "
            "(the larger of this and maxPercentPerStep applies)."
        ),
        ge=1,
        le=MAX_REPLICAS,
    )
    max_percent_per_step: int = Field(
        10,
        description=(
            "At most this percentage of the current replicas is removed in one decision "
            "(the larger of this and maxReplicasPerStep applies)."
        ),
        ge=1,
        le=100,
    )


class Autoscaling(ApiModel):
    """SLA autoscaling: the operator sizes this workload from arrivals and handle time."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.minReplicas <= self.maxReplicas",
                "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
            )
        )
    )

    min_replicas: int = Field(
        1,
        description=(
            "Fewest replicas, also held when metrics are missing. At least 1: the operator "
            "never scales to zero."
        ),
        ge=1,
        le=MAX_REPLICAS,
    )
    max_replicas: int = Field(
        10, description="Most replicas the operator may run.", ge=1, le=MAX_REPLICAS
    )
    readiness_lead_time: Duration = Field(
        "1m",
        description=(
            "How long a new replica takes to become ready. The forecast looks this far ahead, "
            "so capacity is ready when demand arrives. Format: a duration such as `90s`, `2m`."
        ),
    )
    scale_up: ScaleUp = defaulted(
        ScaleUp,
        "Limits on scaling up.",
    )
    scale_down: ScaleDown = defaulted(
        ScaleDown,
        "Limits on scaling down.",
    )

    @model_validator(mode="after")
    def _min_le_max(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError("autoscaling.minReplicas must not exceed autoscaling.maxReplicas")
        return self


# --- channels --------------------------------------------------------------------------------


class ChannelCredentials(ApiModel):
    """Provider credentials of a channel."""

    secret_ref: SecretReference = Field(
        description=(
            "The Secret whose keys become environment variables of the gateway (for example "
            "the SMS provider's API key)."
        ),
    )


class Channel(ApiModel):
    """One way customers reach the contact center, served by its own gateway."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!(" + _in_reserved("self.name") + ")",
                "channel name must not be one of "
                + ", ".join(RESERVED_CHANNEL_NAMES)
                + ": those names are taken by the contact center's other parts",
            )
        )
    )

    name: ChannelName = Field(
        description=(
            "Name of the channel, unique in this ContactCenter. The gateway's Deployment and "
            "Service are called `<contactcenter>-<name>`. A DNS label of at most 20 characters."
        ),
    )
    type: ChannelType = Field(
        description=(
            "Kind of channel: `webchat`, `voice` (SIP/WebRTC), `video` (WebRTC), `email`, "
            "`sms`, `whatsapp`, `social`, `app` (mobile SDK) or `api`."
        ),
    )
    image: Image | None = Field(
        None,
        description=(
            "Container image of the gateway. Defaults to Switchboard's gateway image for the "
            "channel type, at the operator's release."
        ),
    )
    replicas: int = Field(1, description="Number of gateway pods.", ge=0, le=MAX_REPLICAS)
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP",
        description=(
            "How the gateway's Service is exposed: `ClusterIP` (behind an Ingress or Gateway), "
            "`NodePort` or `LoadBalancer` (for example SIP trunks of a voice channel)."
        ),
    )
    credentials: ChannelCredentials | None = Field(
        None, description="Credentials of the channel's provider, if it needs any."
    )
    resources: Resources | None = Field(
        None, description="Overrides of the gateway container's CPU and memory."
    )

    @model_validator(mode="after")
    def _not_reserved(self) -> Self:
        if self.name in RESERVED_CHANNEL_NAMES:
            raise ValueError(
                "channel name must not be one of "
                + ", ".join(RESERVED_CHANNEL_NAMES)
                + ": those names are taken by the contact center's other parts"
            )
        return self


# --- bot -------------------------------------------------------------------------------------


class BotModel(ApiModel):
    """The dialogue model the bot serves. Changing `version` starts a rollout."""

    name: ModelName = Field(
        description=(
            "Name of the model, for example `intent-router`. A DNS label of at most 63 "
            "characters (the bot's pods carry it as a label)."
        ),
    )
    version: ModelVersion = Field(
        description=(
            "Version of the model, semantic-version style: `3.2.0`, `v2`, `3.2.0-rc.1`. "
            "Changing it rolls the new model out as spec.bot.rollout says."
        ),
    )
    uri: ModelURI = Field(
        description=(
            "Where the bot loads the model from, for example `s3://models/intent-router/3.2.0` "
            "or `https://...`. Passed to the bot as SWITCHBOARD_MODEL_URI."
        ),
    )


class RolloutStep(ApiModel):
    """One step of a canary rollout."""

    weight: int = Field(
        description="Percentage of new conversations sent to the canary model during this step.",
        ge=1,
        le=100,
    )
    pause: Duration = Field(
        "5m",
        description=(
            "How long the step lasts (with analysis passing) before the next one. "
            "Format: a duration such as `30s`, `10m`, `1h`."
        ),
    )


BUILT_IN_ANALYSIS_METRICS = (
    "containment-rate",
    "escalation-rate",
    "error-rate",
    "latency-p95",
    "service-level",
)


class AnalysisMetric(ApiModel):
    """A check on the canary model, compared with the stable model running at the same time."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.name in ["
                + ", ".join(f"'{name}'" for name in BUILT_IN_ANALYSIS_METRICS)
                + "] || has(self.query)",
                "analysis metric needs a query: its name is not one of the built-in metrics "
                + ", ".join(BUILT_IN_ANALYSIS_METRICS),
            ),
            cel(
                "has(self.min) || has(self.max) || has(self.minRelative) || "
                "has(self.maxRelative) || has(self.maxSeconds)",
                "analysis metric needs a bound: set min, max, minRelative, maxRelative or "
                "maxSeconds",
            ),
        )
    )

    name: MetricName = Field(
        description=(
            "A built-in metric over the metrics contract (`containment-rate`, "
            "`escalation-rate`, `error-rate`, `latency-p95` in seconds, `service-level`), or "
            "the name of a custom metric given by `query`."
        ),
    )
    query: PromQL | None = Field(
        None,
        description=(
            "PromQL for a custom metric, or to override a built-in one. `$version` is replaced "
            "by the model version measured and `$contact_center` by the ContactCenter's name."
        ),
    )
    min: float | None = Field(None, description="The canary fails if its value is below this.")
    max: float | None = Field(None, description="The canary fails if its value is above this.")
    min_relative: float | None = Field(
        None,
        description=(
            "Non-inferiority margin: the canary fails if its value minus the stable model's is "
            "below this (for example `-0.02`: at most two points worse)."
        ),
    )
    max_relative: float | None = Field(
        None,
        description=(
            "The canary fails if its value minus the stable model's is above this (for "
            "example `0.01` for an error rate)."
        ),
    )
    max_seconds: float | None = Field(
        None,
        description="For latency metrics: the canary fails above this many seconds.",
        ge=0,
    )

    @model_validator(mode="after")
    def _query_and_bound(self) -> Self:
        if self.name not in BUILT_IN_ANALYSIS_METRICS and self.query is None:
            raise ValueError(
                "analysis metric needs a query: its name is not one of the built-in metrics "
                + ", ".join(BUILT_IN_ANALYSIS_METRICS)
            )
        bounds = (self.min, self.max, self.min_relative, self.max_relative, self.max_seconds)
        if all(bound is None for bound in bounds):
            raise ValueError(
                "analysis metric needs a bound: set min, max, minRelative, maxRelative or "
                "maxSeconds"
            )
        return self


class Analysis(ApiModel):
    """How the canary is judged at every interval."""

    interval: Duration = Field(
        "1m",
        description=(
            "How often the canary is compared with the stable model. At least 10s. "
            "Format: a duration such as `30s`, `1m`."
        ),
        json_schema_extra=validations(
            duration_at_least("10s", "rollout.analysis.interval must be at least 10s")
        ),
    )
    metrics: list[AnalysisMetric] = Field(
        default_factory=list,
        description=(
            "Checks the canary must pass. No data is never a failure: the rollout waits, "
            "bounded by progressDeadline."
        ),
        max_length=10,
        json_schema_extra={
            "default": [],
            **validations(
                cel(
                    "self.all(m, self.exists_one(n, n.name == m.name))",
                    "rollout.analysis.metrics names must be unique",
                )
            ),
        },
    )

    @model_validator(mode="after")
    def _checks(self) -> Self:
        if duration_seconds(self.interval) < 10:
            raise ValueError("rollout.analysis.interval must be at least 10s")
        names = [metric.name for metric in self.metrics]
        if len(names) != len(set(names)):
            raise ValueError("rollout.analysis.metrics names must be unique")
        return self


def _default_steps() -> list[RolloutStep]:
    return [RolloutStep(weight=5), RolloutStep(weight=25), RolloutStep(weight=50)]


class Rollout(ApiModel):
    """What happens when spec.bot.model changes."""

    strategy: Literal["Canary", "Immediate"] = Field(
        "Canary",
        description=(
            "`Canary` runs the new model beside the old one and moves new conversations to it "
            "step by step, promoting or rolling back on analysis; `Immediate` replaces the "
            "model in one rolling update."
        ),
    )
    steps: list[RolloutStep] = Field(
        default_factory=_default_steps,
        description=(
            "Canary steps, in order. Weights must increase; after the last step the canary is "
            "promoted. Conversations stay on the model they started with."
        ),
        min_length=1,
        max_length=10,
        json_schema_extra={
            "default": [step.model_dump(mode="json") for step in _default_steps()],
            **validations(
                cel(
                    "self.map(s, s.weight).isSorted() && "
                    "self.all(a, self.exists_one(b, b.weight == a.weight))",
                    "rollout.steps weights must increase strictly from step to step",
                )
            ),
        },
    )
    analysis: Analysis | None = Field(
        None,
        description=(
            "Automatic analysis of the canary. Without it, steps advance when their pause ends."
        ),
    )
    progress_deadline: Duration = Field(
        "30m",
        description=(
            "The longest a step may wait beyond its pause for conclusive analysis; after that "
            "the canary is rolled back. Format: a duration such as `30m`, `2h`."
        ),
    )

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        weights = [step.weight for step in self.steps]
        if any(later <= earlier for earlier, later in itertools.pairwise(weights)):
            raise ValueError("rollout.steps weights must increase strictly from step to step")
        return self


class Bot(ApiModel):
    """The conversational AI that answers first and hands over to agents."""

    image: Image | None = Field(
        None,
        description="Container image of the bot. Defaults to Switchboard's bot image.",
    )
    model: BotModel = Field(description="The dialogue model the bot serves.")
    concurrency: int = Field(
        50,
        description=(
            "Conversations one bot replica serves at once. The autoscaler runs "
            "ceil(servers / concurrency) replicas."
        ),
        ge=1,
        le=10000,
    )
    replicas: int = Field(
        1,
        description="Number of bot pods when autoscaling is not set.",
        ge=0,
        le=MAX_REPLICAS,
    )
    autoscaling: Autoscaling | None = Field(
        None,
        description=(
            "Size the bot from the service-level objective. When set, `replicas` is ignored "
            "and the operator owns the replica count."
        ),
    )
    rollout: Rollout = defaulted(
        Rollout,
        "How a new model version is rolled out.",
    )
    resources: Resources | None = Field(
        None, description="Overrides of the bot container's CPU and memory."
    )


class Agents(ApiModel):
    """The agent workspace backend (agent desktop and assist), scaled with the human staffing."""

    image: Image | None = Field(
        None,
        description="Container image of the agent workspace. Defaults to Switchboard's image.",
    )
    replicas: int = Field(
        1,
        description="Number of workspace pods when autoscaling is not set.",
        ge=0,
        le=MAX_REPLICAS,
    )
    seats_per_replica: int = Field(
        25,
        description=(
            "Human agents one workspace replica serves. The autoscaler runs "
            "ceil(recommended agents / seatsPerReplica) replicas."
        ),
        ge=1,
        le=10000,
    )
    autoscaling: Autoscaling | None = Field(
        None,
        description=(
            "Size the workspace from the recommended number of human agents. When set, "
            "`replicas` is ignored and the operator owns the replica count."
        ),
    )
    resources: Resources | None = Field(
        None, description="Overrides of the workspace container's CPU and memory."
    )


# --- queue and database ----------------------------------------------------------------------


def _service_rules(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    if issubclass(cls, BuiltInService):
        schema.setdefault("x-kubernetes-validations", []).extend(cls.cel_rules())


class BuiltInService(ApiModel):
    """Fields shared by the queue and the database: run one here, or use an external one."""

    model_config = ConfigDict(json_schema_extra=_service_rules)

    # Set by each subclass; the CEL rules compare effective values, so they need the defaults.
    FIELD: ClassVar[str]
    DEFAULT_STORAGE: ClassVar[str]
    BUILT_IN_FIELDS: ClassVar[tuple[str, ...]] = (
        "version",
        "storage",
        "storageClassName",
        "image",
        "resources",
    )

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

    @classmethod
    def cel_rules(cls) -> list[dict[str, str]]:
        """The object-level rules: external excludes the built-in fields; storage only grows."""
        field, default = cls.FIELD, cls.DEFAULT_STORAGE
        built_in = " || ".join(f"has(self.{name})" for name in cls.BUILT_IN_FIELDS)

        def storage(obj: str) -> str:
            return f"(has({obj}.storage) ? {obj}.storage : '{default}')"

        def storage_class(obj: str) -> str:
            return f"(has({obj}.storageClassName) ? {obj}.storageClassName : '')"

        return [
            cel(
                f"!has(self.external) || !({built_in})",
                f"{field}.external cannot be combined with "
                + ", ".join(cls.BUILT_IN_FIELDS)
                + f": those configure the built-in {field}",
            ),
            cel(
                f"has(self.external) || has(oldSelf.external) || "
                f"!isQuantity({storage('self')}) || !isQuantity({storage('oldSelf')}) || "
                f"quantity({storage('self')}).compareTo(quantity({storage('oldSelf')})) >= 0",
                f"{field}.storage may grow but never shrink (a volume cannot shrink)",
            ),
            cel(
                f"has(self.external) || has(oldSelf.external) || "
                f"{storage_class('self')} == {storage_class('oldSelf')}",
                f"{field}.storageClassName cannot change after creation",
            ),
        ]

    @model_validator(mode="after")
    def _external_alone(self) -> Self:
        if self.external is not None:
            set_fields = {
                (field.alias or name)
                for name, field in type(self).model_fields.items()
                if name in self.model_fields_set
            }
            if set_fields & set(self.BUILT_IN_FIELDS):
                raise ValueError(
                    f"{self.FIELD}.external cannot be combined with "
                    + ", ".join(self.BUILT_IN_FIELDS)
                    + f": those configure the built-in {self.FIELD}"
                )
        return self

    @model_validator(mode="after")
    def _storage_floor(self) -> Self:
        if self.storage is not None and parse_quantity(self.storage) < parse_quantity("64Mi"):
            raise ValueError(f"{self.FIELD}.storage must be at least 64Mi")
        return self

    @property
    def effective_storage(self) -> str:
        """The data volume's size: spec'd, or the default."""
        return self.storage or self.DEFAULT_STORAGE


QueueVersion = Annotated[str, StringConstraints(max_length=16, pattern=r"^[0-9]+\.[0-9]+$")]


def _immutable(field: str) -> dict[str, Any]:
    return validations(
        cel("self == oldSelf", f"{field} is immutable: create a new ContactCenter to change it")
    )


class Queue(BuiltInService):
    """The message queue between channels, bot and agents: a RabbitMQ here, or an external one."""

    FIELD: ClassVar[str] = "queue"
    DEFAULT_STORAGE: ClassVar[str] = DEFAULT_QUEUE_STORAGE

    engine: Literal["RabbitMQ"] = Field(
        "RabbitMQ",
        description=("Queue engine (also the protocol an external queue must speak). Immutable."),
        json_schema_extra=_immutable("queue.engine"),
    )
    version: QueueVersion | None = Field(
        None,
        description=(
            f"RabbitMQ version, major.minor (default `{DEFAULT_QUEUE_VERSION}`). "
            "Built-in queue only."
        ),
    )
    storage: StorageQuantity | None = Field(
        None,
        description=(
            f"Size of the queue's data volume (default `{DEFAULT_QUEUE_STORAGE}`), a quantity "
            "such as `2Gi`. It may grow, never shrink. Built-in queue only."
        ),
        json_schema_extra=validations(
            cel(
                "!isQuantity(self) || quantity(self).compareTo(quantity('64Mi')) >= 0",
                "queue.storage must be at least 64Mi",
            )
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

    FIELD: ClassVar[str] = "database"
    DEFAULT_STORAGE: ClassVar[str] = DEFAULT_DATABASE_STORAGE

    engine: Literal["PostgreSQL"] = Field(
        "PostgreSQL",
        description="Database engine (also what an external database must be). Immutable.",
        json_schema_extra=_immutable("database.engine"),
    )
    version: Literal["14", "15", "16", "17"] | None = Field(
        None,
        description=(
            f"PostgreSQL major version (default `{DEFAULT_DATABASE_VERSION}`). Cannot change "
            "after creation. Built-in database only."
        ),
    )
    storage: StorageQuantity | None = Field(
        None,
        description=(
            f"Size of the database volume (default `{DEFAULT_DATABASE_STORAGE}`), a quantity "
            "such as `20Gi`. It may grow, never shrink. Built-in database only."
        ),
        json_schema_extra=validations(
            cel(
                "!isQuantity(self) || quantity(self).compareTo(quantity('64Mi')) >= 0",
                "database.storage must be at least 64Mi",
            )
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

    @classmethod
    def cel_rules(cls) -> list[dict[str, str]]:
        """The shared rules, and: the major version never changes."""
        default = DEFAULT_DATABASE_VERSION
        return [
            *super().cel_rules(),
            cel(
                "has(self.external) || has(oldSelf.external) || "
                f"(has(self.version) ? self.version : '{default}') == "
                f"(has(oldSelf.version) ? oldSelf.version : '{default}')",
                "database.version cannot change: a PostgreSQL major upgrade needs a dump and "
                "restore into a new ContactCenter",
            ),
        ]

    @property
    def effective_version(self) -> str:
        """The PostgreSQL major version to run."""
        return self.version or DEFAULT_DATABASE_VERSION


# --- service level, metrics, forecast --------------------------------------------------------


class ServiceLevel(ApiModel):
    """The service-level objective: `target` of contacts answered within `answerWithinSeconds`."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.target > 0.0 && self.target <= 1.0",
                "sla.serviceLevel.target must be greater than 0 and at most 1 (0.8 means 80%)",
            )
        )
    )

    target: float = Field(
        0.8,
        description=(
            "Share of offered contacts to answer within answerWithinSeconds, in (0, 1]: "
            "0.8 means 80%. An abandoned contact counts as missed."
        ),
    )
    answer_within_seconds: int = Field(
        20,
        description="The answer-time threshold of the objective, in seconds.",
        ge=1,
        le=86400,
    )

    @model_validator(mode="after")
    def _target_range(self) -> Self:
        if not 0.0 < self.target <= 1.0:
            raise ValueError(
                "sla.serviceLevel.target must be greater than 0 and at most 1 (0.8 means 80%)"
            )
        return self


class SLA(ApiModel):
    """What the business promised its customers; capacity is sized to keep it."""

    service_level: ServiceLevel = defaulted(
        ServiceLevel,
        "The service-level objective, for example 80% answered within 20 s.",
    )
    max_abandon_rate: float = Field(
        0.05,
        description=(
            "Largest acceptable share of offered contacts that leave before an answer, in [0, 1]."
        ),
        ge=0.0,
        le=1.0,
    )
    max_occupancy: float | None = Field(
        None,
        description=(
            "Largest acceptable share of time agents are busy, in (0, 1]; capacity is added to "
            "stay below it. Unset: no limit."
        ),
        gt=0.0,
        le=1.0,
    )
    patience_seconds: float | None = Field(
        None,
        description=(
            "Mean time a waiting customer stays before abandoning, in seconds; used for sizing "
            "when the metrics do not provide it. Unset: assume nobody abandons."
        ),
        gt=0.0,
        le=86400.0,
    )


class MetricQueries(ApiModel):
    """PromQL overriding the operator's built-in queries over the metrics contract."""

    arrival_rate: PromQL | None = Field(
        None,
        description="Contacts offered per second (default: switchboard_contacts_arrived_total).",
    )
    handle_time_seconds: PromQL | None = Field(
        None,
        description="Mean handle time in seconds (default: from switchboard_handle_time_seconds).",
    )
    abandon_rate: PromQL | None = Field(
        None,
        description=(
            "Share of offered contacts abandoned (default: from "
            "switchboard_contacts_abandoned_total)."
        ),
    )
    service_level: PromQL | None = Field(
        None,
        description=(
            "Observed service level (default: from switchboard_contacts_answered_total with "
            "within_sla)."
        ),
    )
    queue_backlog: PromQL | None = Field(
        None, description="Contacts waiting now (default: from the contact counters)."
    )
    patience_seconds: PromQL | None = Field(
        None, description="Mean patience in seconds. No default: spec.sla.patienceSeconds applies."
    )


class Metrics(ApiModel):
    """Where the operator reads the metrics contract from, and how often."""

    prometheus_url: HttpURL | None = Field(
        None,
        alias="prometheusURL",
        description=(
            "Base URL of the Prometheus that scrapes this contact center, for example "
            "`http://prometheus.monitoring:9090`. Required for autoscaling and analysis."
        ),
    )
    interval: Duration = Field(
        "30s",
        description=(
            "How often the operator reads the metrics and re-sizes the workloads. At least 5s. "
            "Format: a duration such as `30s`, `1m`."
        ),
        json_schema_extra=validations(
            duration_at_least("5s", "metrics.interval must be at least 5s")
        ),
    )
    rate_window: Duration = Field(
        "15m",
        description=(
            "How far back arrival rates, handle times, service level and abandonment are "
            "averaged: long enough to be steady, short enough to follow the day. At least 5s. "
            "Format: a duration such as `15m`."
        ),
        json_schema_extra=validations(
            duration_at_least("5s", "metrics.rateWindow must be at least 5s")
        ),
    )
    recent_window: Duration = Field(
        "1m",
        description=(
            "The short window arrivals are also read over (and five times it, when that is "
            "still shorter than rateWindow), so a sudden surge is met at once instead of after "
            "the rate window catches up. At least 5s. Format: a duration such as `1m`."
        ),
        json_schema_extra=validations(
            duration_at_least("5s", "metrics.recentWindow must be at least 5s")
        ),
    )
    handle_time_window: Duration = Field(
        "1h",
        description=(
            "How far back the mean handle time is averaged. Longer than rateWindow: in a surge "
            "the first contacts to finish are the short ones, so a short window underestimates "
            "the load. At least 5s. Format: a duration such as `1h`."
        ),
        json_schema_extra=validations(
            duration_at_least("5s", "metrics.handleTimeWindow must be at least 5s")
        ),
    )
    queries: MetricQueries = defaulted(
        MetricQueries,
        "Per-metric PromQL overrides. `$contact_center` and `$namespace` are replaced by "
        "this ContactCenter's name and namespace, `$window` by the rate window (`900s`), "
        "`$workload` by `bot` or `agents` and `$handler` by the contract's handler label "
        "(`bot` or `agent`).",
    )

    @model_validator(mode="after")
    def _interval_floor(self) -> Self:
        for name, value in (
            ("interval", self.interval),
            ("rateWindow", self.rate_window),
            ("recentWindow", self.recent_window),
            ("handleTimeWindow", self.handle_time_window),
        ):
            if duration_seconds(value) < 5:
                raise ValueError(f"metrics.{name} must be at least 5s")
        return self


class Forecast(ApiModel):
    """The short-horizon arrival forecast that scales ahead of demand."""

    enabled: bool = Field(
        True,
        description=(
            "Size for the larger of current and forecast demand. When false the autoscaler "
            "only reacts."
        ),
    )
    lookback_days: int = Field(
        7,
        description="Recent days whose intraday profile (same weekday and time) the forecast uses.",
        ge=1,
        le=28,
    )
    demand_quantile: float = Field(
        0.5,
        description=(
            "Size for this quantile of forecast demand: 0.5 is the expected demand, higher "
            "values buy safety against surprise peaks for a strict objective."
        ),
        ge=0.5,
        le=0.999,
    )


# --- the resource ----------------------------------------------------------------------------


class ContactCenterSpec(ApiModel):
    """The desired contact center."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "(!has(self.bot.autoscaling) && !has(self.agents.autoscaling)) || "
                "has(self.metrics.prometheusURL)",
                "metrics.prometheusURL is required when bot.autoscaling or agents.autoscaling "
                "is set",
            )
        )
    )

    channels: list[Channel] = Field(
        description=(
            f"The channels customers use, each served by its own gateway. 1 to {MAX_CHANNELS}, "
            "names unique."
        ),
        min_length=1,
        max_length=MAX_CHANNELS,
        json_schema_extra=validations(
            cel(
                "self.all(c, self.exists_one(d, d.name == c.name))",
                "channels names must be unique",
            )
        ),
    )
    bot: Bot = Field(description="The bot that answers first.")
    agents: Agents = defaulted(
        Agents,
        "The agent workspace.",
    )
    queue: Queue = defaulted(
        Queue,
        "The contact queue. Defaults to a built-in RabbitMQ.",
    )
    database: Database = defaulted(
        Database,
        "The database. Defaults to a built-in PostgreSQL.",
    )
    sla: SLA = defaulted(
        SLA,
        "The service-level objective capacity is sized for. Defaults to 80/20.",
    )
    metrics: Metrics = defaulted(
        Metrics,
        "The metrics source for autoscaling and rollout analysis.",
    )
    forecast: Forecast = defaulted(
        Forecast,
        "The arrival forecast the autoscaler scales ahead with.",
    )

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        names = [channel.name for channel in self.channels]
        if len(names) != len(set(names)):
            raise ValueError("channels names must be unique")
        autoscaled = self.bot.autoscaling is not None or self.agents.autoscaling is not None
        if autoscaled and self.metrics.prometheus_url is None:
            raise ValueError(
                "metrics.prometheusURL is required when bot.autoscaling or agents.autoscaling "
                "is set"
            )
        return self


NAME_RULES = (
    cel(
        f"self.metadata.name.size() <= {MAX_NAME_LENGTH}",
        f"metadata.name must be at most {MAX_NAME_LENGTH} characters: it prefixes the names "
        "of the contact center's parts",
    ),
    cel(
        f"self.metadata.name.matches('{DNS_LABEL_PATTERN}')",
        "metadata.name must be a DNS label (lower-case letters, digits and '-', starting with "
        "a letter): it names Services",
    ),
)


class ObjectMeta(BaseModel):
    """The parts of metav1.ObjectMeta the operator reads; everything else passes through."""

    model_config = ConfigDict(**CAMEL_CASE, extra="allow")

    name: str
    namespace: str = "default"
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ContactCenter(BaseModel):
    """A ContactCenter as stored by the apiserver (and as kopf hands it over)."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="ignore"
    )

    api_version: Literal["switchboard.io/v1alpha1"] = Field(
        "switchboard.io/v1alpha1", alias="apiVersion"
    )
    kind: Literal["ContactCenter"] = "ContactCenter"
    metadata: ObjectMeta
    spec: ContactCenterSpec
    status: ContactCenterStatus = Field(default_factory=ContactCenterStatus)

    @model_validator(mode="after")
    def _name(self) -> Self:
        name = self.metadata.name
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError(NAME_RULES[0]["message"])
        if not re.fullmatch(DNS_LABEL_PATTERN, name):
            raise ValueError(NAME_RULES[1]["message"])
        return self

    @property
    def name(self) -> str:
        """metadata.name"""
        return self.metadata.name

    @property
    def namespace(self) -> str:
        """metadata.namespace"""
        return self.metadata.namespace
