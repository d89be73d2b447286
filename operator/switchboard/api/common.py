"""Parts several components share: compute resources, Secret references, autoscaling."""

from __future__ import annotations

from pydantic import Field

from switchboard.api.rules import Rule
from switchboard.api.types import (
    ApiModel,
    Duration,
    ResourceQuantity,
    SecretKey,
    SecretName,
    defaulted,
    parse_quantity,
)

MAX_REPLICAS = 1000


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
            "Scale down only to the highest recommendation of this window. With a forecast, "
            "what a past recommendation asks beyond the latest fades in proportion to its age, "
            "to nothing at the window's end. Format: a duration such as `0s`, `30s`, `5m`."
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
