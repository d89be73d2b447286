"""The ContactCenter status: what the operator observed and decided. Only the operator writes it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from switchboard.api.types import StatusModel, Time

CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# Changes of recommendation kept per workload: a 5-minute window at 5-second intervals, with
# room to spare; beyond it the oldest are merged (resources/sla_status.py).
MAX_RECOMMENDATIONS = 256


class Condition(StatusModel):
    """One aspect of the contact center's state, in the shape of metav1.Condition."""

    type: Annotated[str, StringConstraints(max_length=316, pattern=CONDITION_TYPE_PATTERN)] = Field(
        description=(
            "Aspect described: Ready, Progressing, Degraded, SLAMet, RolloutHealthy, "
            "MetricsAvailable."
        ),
    )
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=CONDITION_REASON_PATTERN)
    ] = Field(description="Why, in one CamelCase word (for example SecretNotFound).")
    message: Annotated[str, StringConstraints(max_length=32768)] = Field(
        "", description="What happened and what to do, for a person."
    )
    observed_generation: int | None = Field(
        None, description="metadata.generation of the spec this condition describes.", ge=0
    )
    last_transition_time: Time = Field(
        description="When status last changed (not when the condition was last checked).",
    )


class ComponentStatus(StatusModel):
    """Readiness of one part of the contact center."""

    kind: Literal["Deployment", "StatefulSet", "External"] | None = Field(
        None, description="What runs the component: Deployment, StatefulSet or External."
    )
    ready: int = Field(0, description="Pods ready (available).", ge=0)
    desired: int = Field(0, description="Pods wanted.", ge=0)
    message: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        None, description="Why the component is not ready, if it is not."
    )


class ForecastPoint(StatusModel):
    """Forecast arrivals for one upcoming interval."""

    start: Time = Field(description="Start of the interval.")
    arrival_rate: float = Field(description="Expected contacts per second.", ge=0)
    lower: float | None = Field(
        None, description="Lower bound of the forecast's prediction interval, contacts per second."
    )
    upper: float | None = Field(
        None, description="Upper bound of the forecast's prediction interval, contacts per second."
    )


class Recommendation(StatusModel):
    """A recommendation of the scaling decision, in force from `since` until the next one."""

    since: Time = Field(description="When the autoscaler first recommended this.")
    replicas: int = Field(description="Replicas recommended.", ge=0)
    for_rate: int | None = Field(
        None,
        description=(
            "Replicas the arrival rate alone asked for (without the contacts in the system or a "
            "backlog), when there was a forecast: the scale-down window follows a fall of it at "
            "once and holds the rest, fading over the window."
        ),
        ge=0,
    )


class WorkloadSLA(StatusModel):
    """One autoscaled workload: what its tier's metrics say, and the scaling state the
    autoscaler carries from one decision to the next (restored from here after a restart)."""

    service_level: float | None = Field(
        None,
        description=(
            "Observed share of the contacts offered to this tier that it answered within the "
            "threshold (bot: from arrival to its first answer; agents: from the handoff to an "
            "agent's accept)."
        ),
    )
    abandon_rate: float | None = Field(
        None, description="Observed share of the contacts offered to this tier that left waiting."
    )
    queue_backlog: float | None = Field(
        None, description="Contacts waiting for this tier at the last read."
    )
    last_scale_time: Time | None = Field(None, description="When its replicas last changed.")
    recommendations: list[Recommendation] = Field(
        default_factory=list,
        description=(
            "The stabilization windows' contents: each change of the recommended replicas "
            "still within them, oldest first."
        ),
        max_length=MAX_RECOMMENDATIONS,
    )


class SLAStatus(StatusModel):
    """What the autoscaler observed and decided. The observed figures at the top are the first
    autoscaled tier's (the bot's when it is autoscaled); `bot` and `agents` hold each tier's."""

    service_level: float | None = Field(
        None, description="Observed share of offered contacts answered within the threshold."
    )
    abandon_rate: float | None = Field(
        None, description="Observed share of offered contacts that abandoned."
    )
    arrival_rate: float | None = Field(None, description="Observed contacts offered per second.")
    handle_time_seconds: float | None = Field(
        None, description="Observed mean handle time, in seconds."
    )
    patience_seconds: float | None = Field(
        None, description="Mean patience used for sizing, in seconds."
    )
    queue_backlog: float | None = Field(None, description="Contacts waiting at the last read.")
    predicted_service_level: float | None = Field(
        None, description="Service level the sizing model predicts at the chosen capacity."
    )
    recommended_agents: int | None = Field(
        None, description="Human agents needed to meet the objective now.", ge=0
    )
    bot_servers: int | None = Field(
        None, description="Concurrent bot conversations needed (queueing-model servers).", ge=0
    )
    forecast: list[ForecastPoint] = Field(
        default_factory=list, description="Forecast arrivals for the next intervals.", max_length=96
    )
    last_scale_time: Time | None = Field(None, description="When replicas last changed.")
    last_decision: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        None,
        description=(
            'The last sizing decision and its reason, for example "arrivals 3.1/s, AHT 240 s '
            '-> 14 servers for 80/20, predicted 0.89".'
        ),
    )
    bot: WorkloadSLA | None = Field(None, description="The bot's tier, when it is autoscaled.")
    agents: WorkloadSLA | None = Field(
        None, description="The agents' tier, when the agent workspace is autoscaled."
    )


class ModelStatus(StatusModel):
    """A dialogue model that is running."""

    name: str = Field(description="Model name.")
    version: str = Field(description="Model version.")
    uri: str = Field(description="Where the model was loaded from.")


class AnalysisResult(StatusModel):
    """The latest verdict on one analysis metric."""

    metric: str = Field(description="Name of the analysis metric.")
    verdict: Literal["Pass", "Fail", "Inconclusive"] = Field(
        description="Pass, Fail, or Inconclusive (not enough data yet)."
    )
    canary: float | None = Field(
        None,
        description=(
            "The canary model's value: a rate since the rollout began (for latency-p95, the "
            "share of turns slower than maxSeconds), or a custom query's latest value."
        ),
    )
    stable: float | None = Field(None, description="The stable model's value, measured alike.")
    canary_count: float | None = Field(
        None,
        description="Conversations (turns for latency-p95) of the canary the rate is over.",
        ge=0,
    )
    stable_count: float | None = Field(
        None, description="Conversations (turns for latency-p95) of the stable model.", ge=0
    )
    failed_intervals: int = Field(
        0,
        description="Custom query metrics: consecutive intervals out of bounds so far.",
        ge=0,
    )
    message: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        None, description="The evidence, for a person."
    )
    time: Time | None = Field(None, description="When this verdict was reached.")


class DrainingModel(StatusModel):
    """A bot track that takes no new conversations and keeps its model for those it has."""

    track: Literal["stable", "canary"] = Field(description="The bot track: stable or canary.")
    model: ModelStatus = Field(description="The model its pods run until it has drained.")
    deadline: Time = Field(
        description="When it stops waiting for its conversations (spec.bot.rollout.drainTimeout)."
    )


class RolloutStatus(StatusModel):
    """The state of the bot's model rollout: enough to resume it after an operator restart."""

    stable: ModelStatus | None = Field(
        None,
        description="The model the stable bot runs; new conversations go to it outside a canary.",
    )
    canary: ModelStatus | None = Field(None, description="The model being rolled out, if any.")
    weight: int = Field(
        0, description="Percentage of new conversations sent to the canary.", ge=0, le=100
    )
    step: int = Field(0, description="Index of the current step in spec.bot.rollout.steps.", ge=0)
    phase: Literal["Stable", "Progressing", "Paused", "Promoting", "RolledBack", "Aborted"] = Field(
        "Stable",
        description=(
            "Stable (no rollout), Progressing, Paused (by annotation), Promoting (the canary "
            "takes all new conversations while the stable bot drains and takes its model), "
            "RolledBack (analysis failed) or Aborted (by annotation, or no conclusive analysis "
            "before the progress deadline)."
        ),
    )
    reason: (
        Annotated[str, StringConstraints(max_length=128, pattern=CONDITION_REASON_PATTERN)] | None
    ) = Field(
        None,
        description=(
            "Why the phase, in one CamelCase word (AnalysisFailed, NoData, Inconclusive, "
            "CanaryNotReady, Aborted, ...)."
        ),
    )
    message: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        None, description="Why the rollout is where it is."
    )
    started_at: Time | None = Field(
        None,
        description=(
            "When the canary began taking conversations; the analysis counts outcomes since."
        ),
    )
    step_started_at: Time | None = Field(
        None, description="When the current step (or the wait before the first) began."
    )
    rejected: ModelStatus | None = Field(
        None,
        description=(
            "The model last rolled back or aborted. While spec.bot.model names it, the rollout "
            "is not started again; another version (or the promote annotation) starts one."
        ),
    )
    draining: list[DrainingModel] = Field(
        default_factory=list,
        description="Tracks that take no new conversations and keep their model until drained.",
        max_length=2,
    )
    control: Annotated[str, StringConstraints(max_length=63)] | None = Field(
        None,
        description=(
            "The switchboard.io/rollout annotation in force: pause, resume, promote or abort."
        ),
    )
    analysis: list[AnalysisResult] = Field(
        default_factory=list, description="The latest verdict per analysis metric.", max_length=10
    )


class QualityStatus(StatusModel):
    """The quality figures over metrics.handleTimeWindow, from the metrics contract
    (docs/metrics.md, "Quality figures"); a figure with nothing to compute it from is left out."""

    first_response_seconds: float | None = Field(
        None, description="Mean time from a contact's arrival to its first answer, in seconds."
    )
    service_level: float | None = Field(
        None,
        description="Share of offered contacts whose first answer came within the objective.",
    )
    service_level_without_short_abandons: float | None = Field(
        None,
        description=(
            "The same, with the contacts that abandoned within quality.shortAbandonSeconds "
            "left out of the offered."
        ),
    )
    abandon_rate: float | None = Field(
        None,
        description=(
            "Share of offered contacts that left waiting for the bot's or an agent's answer."
        ),
    )
    agent_handle_time_seconds: float | None = Field(
        None, description="Mean time from an agent's accept to the resolve, in seconds."
    )
    first_contact_resolution: float | None = Field(
        None,
        description=(
            "Share of resolved contacts whose customer did not come back within "
            "quality.firstContactResolutionWindow."
        ),
    )
    csat: float | None = Field(None, description="Mean CSAT answer, 1 to 5.")
    csat_satisfied: float | None = Field(None, description="Share of CSAT answers that are 4 or 5.")
    nps: float | None = Field(
        None, description="Net promoter score: % promoters (9-10) less % detractors (0-6)."
    )


class ContactCenterStatus(StatusModel):
    """What the operator observed and decided."""

    observed_generation: int | None = Field(
        None, description="metadata.generation of the spec this status describes.", ge=0
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description=(
            "Ready, Progressing, Degraded, SLAMet, RolloutHealthy, MetricsAvailable; one per type."
        ),
        max_length=16,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    channels: int | None = Field(
        None, description="Number of channel gateways (for `kubectl get`).", ge=0
    )
    components: dict[str, ComponentStatus] = Field(
        default_factory=dict,
        description=(
            "Readiness per component: each channel by name, bot, agents, queue, database."
        ),
        max_length=32,
    )
    sla: SLAStatus | None = Field(None, description="Autoscaling observations and decisions.")
    rollout: RolloutStatus | None = Field(None, description="Model rollout state.")
    quality: QualityStatus | None = Field(
        None, description="Quality figures, read from metrics.prometheusURL."
    )
