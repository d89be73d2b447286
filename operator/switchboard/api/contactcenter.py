"""The ContactCenter API: the spec a platform engineer writes, and the resource kopf hands over.

These models are the source of truth: the CRD (`switchboard crd`) and the API reference are
generated from them. Each CEL rule the apiserver enforces is declared once, as a `Rule` that
pydantic checks too, so `switchboard render` rejects the same manifests `kubectl apply` does
(except the update-time rules, which need the old object).
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from switchboard.api.rules import Rule, WithRules, unique_names
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
    defaulted,
    duration_at_least,
    parse_quantity,
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


# --- shared parts ----------------------------------------------------------------------------


class ResourceList(ApiModel):
    """An amount of CPU and memory."""

    cpu: ResourceQuantity | None = Field(
        None, description="CPU, in cores (`1`) or millicores (`500m`)."
    )
    memory: ResourceQuantity | None = Field(
        None, description="Memory, in bytes with a suffix (`256Mi`, `1Gi`)."
    )


def _request_within_limit(resource: str) -> Rule:
    request, limit = f"self.requests.{resource}", f"self.limits.{resource}"

    def check(resources: Resources) -> bool:
        requested = getattr(resources.requests, resource, None)
        allowed = getattr(resources.limits, resource, None)
        return (
            requested is None
            or allowed is None
            or parse_quantity(requested) <= parse_quantity(allowed)
        )

    return Rule(
        f"!has(self.requests) || !has(self.limits) || !has({request}) || !has({limit}) || "
        f"!isQuantity(string({request})) || !isQuantity(string({limit})) || "
        f"quantity(string({request})).compareTo(quantity(string({limit}))) <= 0",
        f"resources.requests.{resource} must not exceed resources.limits.{resource}",
        check,
    )


class Resources(ApiModel):
    """Compute resources of a workload's main container; each value overrides its default."""

    RULES = (_request_within_limit("cpu"), _request_within_limit("memory"))

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

    RULES = (
        Rule(
            "self.minReplicas <= self.maxReplicas",
            "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
            lambda autoscaling: autoscaling.min_replicas <= autoscaling.max_replicas,
        ),
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

    RULES = (
        Rule(
            "!(self.name in [" + ", ".join(f"'{name}'" for name in RESERVED_CHANNEL_NAMES) + "])",
            "channel name must not be one of "
            + ", ".join(RESERVED_CHANNEL_NAMES)
            + ": those names are taken by the contact center's other parts",
            lambda channel: channel.name not in RESERVED_CHANNEL_NAMES,
        ),
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


def _has_a_bound(metric: AnalysisMetric) -> bool:
    bounds = (metric.min, metric.max, metric.min_relative, metric.max_relative, metric.max_seconds)
    return any(bound is not None for bound in bounds)


class AnalysisMetric(ApiModel):
    """A check on the canary model, compared with the stable model running at the same time."""

    RULES = (
        Rule(
            "self.name in ["
            + ", ".join(f"'{name}'" for name in BUILT_IN_ANALYSIS_METRICS)
            + "] || has(self.query)",
            "analysis metric needs a query: its name is not one of the built-in metrics "
            + ", ".join(BUILT_IN_ANALYSIS_METRICS),
            lambda metric: metric.name in BUILT_IN_ANALYSIS_METRICS or metric.query is not None,
        ),
        Rule(
            "has(self.min) || has(self.max) || has(self.minRelative) || "
            "has(self.maxRelative) || has(self.maxSeconds)",
            "analysis metric needs a bound: set min, max, minRelative, maxRelative or maxSeconds",
            _has_a_bound,
        ),
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


class Analysis(ApiModel):
    """How the canary is judged at every interval."""

    interval: Annotated[Duration, duration_at_least("10s", "rollout.analysis.interval")] = Field(
        "1m",
        description=(
            "How often the canary is compared with the stable model. At least 10s. "
            "Format: a duration such as `30s`, `1m`."
        ),
    )
    metrics: Annotated[list[AnalysisMetric], unique_names("rollout.analysis.metrics")] = Field(
        default_factory=list,
        description=(
            "Checks the canary must pass. No data is never a failure: the rollout waits, "
            "bounded by progressDeadline."
        ),
        max_length=10,
        json_schema_extra={"default": []},
    )


INCREASING_WEIGHTS = Rule(
    "self.map(s, s.weight).isSorted() && self.all(a, self.exists_one(b, b.weight == a.weight))",
    "rollout.steps weights must increase strictly from step to step",
    lambda steps: all(
        earlier.weight < later.weight for earlier, later in itertools.pairwise(steps)
    ),
)


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
    steps: Annotated[list[RolloutStep], INCREASING_WEIGHTS] = Field(
        default_factory=_default_steps,
        description=(
            "Canary steps, in order. Weights must increase; after the last step the canary is "
            "promoted. Conversations stay on the model they started with."
        ),
        min_length=1,
        max_length=10,
        json_schema_extra={"default": [step.model_dump(mode="json") for step in _default_steps()]},
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


# --- service level, metrics, forecast --------------------------------------------------------


class ServiceLevel(ApiModel):
    """The service-level objective: `target` of contacts answered within `answerWithinSeconds`."""

    RULES = (
        Rule(
            "self.target > 0.0 && self.target <= 1.0",
            "sla.serviceLevel.target must be greater than 0 and at most 1 (0.8 means 80%)",
            lambda service_level: 0.0 < service_level.target <= 1.0,
        ),
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


MIN_METRICS_WINDOW = "5s"


def _metrics_window(field: str) -> Rule:
    return duration_at_least(MIN_METRICS_WINDOW, f"metrics.{field}")


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
    interval: Annotated[Duration, _metrics_window("interval")] = Field(
        "30s",
        description=(
            "How often the operator reads the metrics and re-sizes the workloads. At least 5s. "
            "Format: a duration such as `30s`, `1m`."
        ),
    )
    rate_window: Annotated[Duration, _metrics_window("rateWindow")] = Field(
        "15m",
        description=(
            "How far back arrival rates, handle times, service level and abandonment are "
            "averaged: long enough to be steady, short enough to follow the day. At least 5s. "
            "Format: a duration such as `15m`."
        ),
    )
    recent_window: Annotated[Duration, _metrics_window("recentWindow")] = Field(
        "1m",
        description=(
            "The short window arrivals are also read over (and five times it, when that is "
            "still shorter than rateWindow), so a sudden surge is met at once instead of after "
            "the rate window catches up. At least 5s. Format: a duration such as `1m`."
        ),
    )
    handle_time_window: Annotated[Duration, _metrics_window("handleTimeWindow")] = Field(
        "1h",
        description=(
            "How far back the mean handle time is averaged. Longer than rateWindow: in a surge "
            "the first contacts to finish are the short ones, so a short window underestimates "
            "the load. At least 5s. Format: a duration such as `1h`."
        ),
    )
    queries: MetricQueries = defaulted(
        MetricQueries,
        "Per-metric PromQL overrides. `$contact_center` and `$namespace` are replaced by "
        "this ContactCenter's name and namespace, `$window` by the rate window (`900s`), "
        "`$workload` by `bot` or `agents` and `$handler` by the contract's handler label "
        "(`bot` or `agent`).",
    )


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

    RULES = (
        Rule(
            "(!has(self.bot.autoscaling) && !has(self.agents.autoscaling)) || "
            "has(self.metrics.prometheusURL)",
            "metrics.prometheusURL is required when bot.autoscaling or agents.autoscaling is set",
            lambda spec: (
                (spec.bot.autoscaling is None and spec.agents.autoscaling is None)
                or spec.metrics.prometheus_url is not None
            ),
        ),
    )

    channels: Annotated[list[Channel], unique_names("channels")] = Field(
        description=(
            f"The channels customers use, each served by its own gateway. 1 to {MAX_CHANNELS}, "
            "names unique."
        ),
        min_length=1,
        max_length=MAX_CHANNELS,
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


class ObjectMeta(BaseModel):
    """The parts of metav1.ObjectMeta the operator reads; everything else passes through."""

    model_config = ConfigDict(**CAMEL_CASE, extra="allow")

    name: str
    namespace: str = "default"
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ContactCenter(WithRules):
    """A ContactCenter as stored by the apiserver (and as kopf hands it over)."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="ignore"
    )

    # At the CRD's root: the apiserver's schema of metadata cannot carry rules.
    RULES = (
        Rule(
            f"self.metadata.name.size() <= {MAX_NAME_LENGTH}",
            f"metadata.name must be at most {MAX_NAME_LENGTH} characters: it prefixes the names "
            "of the contact center's parts",
            lambda cc: len(cc.metadata.name) <= MAX_NAME_LENGTH,
        ),
        Rule(
            f"self.metadata.name.matches('{DNS_LABEL_PATTERN}')",
            "metadata.name must be a DNS label (lower-case letters, digits and '-', starting "
            "with a letter): it names Services",
            lambda cc: re.fullmatch(DNS_LABEL_PATTERN, cc.metadata.name) is not None,
        ),
    )

    api_version: Literal["switchboard.io/v1alpha1"] = Field(
        "switchboard.io/v1alpha1", alias="apiVersion"
    )
    kind: Literal["ContactCenter"] = "ContactCenter"
    metadata: ObjectMeta
    spec: ContactCenterSpec
    status: ContactCenterStatus = Field(default_factory=ContactCenterStatus)

    @property
    def name(self) -> str:
        """metadata.name"""
        return self.metadata.name

    @property
    def namespace(self) -> str:
        """metadata.namespace"""
        return self.metadata.namespace
