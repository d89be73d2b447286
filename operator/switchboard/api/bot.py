"""The bot: the dialogue model it serves, and how a new model version is rolled out."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field

from switchboard.api.channels import MAX_CHANNELS
from switchboard.api.common import MAX_REPLICAS, Autoscaling, Resources
from switchboard.api.rules import Rule, unique_names
from switchboard.api.types import (
    ApiModel,
    ChannelName,
    Duration,
    Image,
    MetricName,
    ModelName,
    ModelURI,
    ModelVersion,
    PromQL,
    defaulted,
    duration_at_least,
)


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
            "Where the bot loads the model from: `configmap://NAME/KEY` (a key of a ConfigMap "
            "in this namespace, mounted into the bot's pods), `https://...` (or `http://`), or "
            "`file:///path` (in the image or a volume). The model's own name and version must "
            "match `name` and `version`, or the bot refuses to serve it. The format is in "
            "docs/models.md."
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


RATE_METRICS = ("containment-rate", "escalation-rate", "error-rate", "service-level")
LATENCY_METRIC = "latency-p95"
BUILT_IN_ANALYSIS_METRICS = (*RATE_METRICS, LATENCY_METRIC)


def _has_a_bound(metric: AnalysisMetric) -> bool:
    bounds = (metric.min, metric.max, metric.min_relative, metric.max_relative, metric.max_seconds)
    return any(bound is not None for bound in bounds)


def _in(low: float, high: float, value: float | None) -> bool:
    return value is None or low <= value <= high


def _rate_bounds_are_shares(metric: AnalysisMetric) -> bool:
    return (
        metric.query is not None
        or metric.name not in RATE_METRICS
        or (
            _in(0, 1, metric.min)
            and _in(0, 1, metric.max)
            and _in(-1, 1, metric.min_relative)
            and _in(-1, 1, metric.max_relative)
        )
    )


def _latency_bounded_by_seconds(metric: AnalysisMetric) -> bool:
    others = (metric.min, metric.max, metric.min_relative, metric.max_relative)
    return (
        metric.name != LATENCY_METRIC
        or metric.query is not None
        or all(bound is None for bound in others)
    )


def _seconds_bound_on_latency(metric: AnalysisMetric) -> bool:
    return metric.max_seconds is None or metric.name == LATENCY_METRIC or metric.query is not None


def _cel_within(field: str, low: str, high: str) -> str:
    return f"(!has(self.{field}) || (self.{field} >= {low} && self.{field} <= {high}))"


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
        Rule(
            "has(self.query) || !(self.name in ["
            + ", ".join(f"'{name}'" for name in RATE_METRICS)
            + "]) || ("
            + " && ".join(
                (
                    _cel_within("min", "0.0", "1.0"),
                    _cel_within("max", "0.0", "1.0"),
                    _cel_within("minRelative", "-1.0", "1.0"),
                    _cel_within("maxRelative", "-1.0", "1.0"),
                )
            )
            + ")",
            "analysis metric bounds of a rate are shares: min and max between 0 and 1, "
            "minRelative and maxRelative between -1 and 1",
            _rate_bounds_are_shares,
        ),
        Rule(
            f"self.name != '{LATENCY_METRIC}' || has(self.query) || "
            "(!has(self.min) && !has(self.max) && !has(self.minRelative) && "
            "!has(self.maxRelative))",
            f"analysis metric {LATENCY_METRIC} is bounded by maxSeconds alone "
            "(min, max, minRelative and maxRelative need a query)",
            _latency_bounded_by_seconds,
        ),
        Rule(
            f"!has(self.maxSeconds) || self.name == '{LATENCY_METRIC}' || has(self.query)",
            f"analysis metric maxSeconds applies to {LATENCY_METRIC} or a custom query",
            _seconds_bound_on_latency,
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
    min: float | None = Field(
        None,
        description=(
            "The canary fails if its value is below this, and passes once it is shown to be "
            "above. A share between 0 and 1 for a rate."
        ),
    )
    max: float | None = Field(
        None,
        description=(
            "The canary fails if its value is above this, and passes once it is shown to be "
            "below. A share between 0 and 1 for a rate."
        ),
    )
    min_relative: float | None = Field(
        None,
        description=(
            "Non-inferiority margin: the canary fails if its value minus the stable model's is "
            "below this (for example `-0.05`: at most five points worse). A negative margin "
            "is also the tolerance of the pass: the canary passes once a regression of twice "
            "the margin is ruled out (docs/rollouts.md)."
        ),
    )
    max_relative: float | None = Field(
        None,
        description=(
            "The canary fails if its value minus the stable model's is above this (for "
            "example `0.02` for an error rate). A positive margin is also the tolerance of the "
            "pass: the canary passes once an excess of twice the margin is ruled out."
        ),
    )
    max_seconds: float | None = Field(
        None,
        description=(
            "For latency-p95: the canary fails if more than 5% of its bot turns take longer "
            "than this (its p95 is above it). Use a bucket bound of "
            "switchboard_bot_response_seconds (0.3, 0.5, 0.8, 1, 2, ...). For a custom query, "
            "the same as max."
        ),
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


_INCREASING_WEIGHTS = Rule(
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
    steps: Annotated[list[RolloutStep], _INCREASING_WEIGHTS] = Field(
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
            "The longest a step may wait beyond its pause for conclusive analysis (or the "
            "canary for its pods), after which the rollout is aborted (reason NoData, "
            "Inconclusive or CanaryNotReady). Format: a duration such as `30m`, `2h`."
        ),
    )
    drain_timeout: Duration = Field(
        "15m",
        description=(
            "How long a retired model keeps running for the conversations that started on "
            "it (they never change model); its pods are removed when they have all ended or "
            "after this. Format: a duration such as `15m`, `1h`."
        ),
    )


Share = Annotated[float, Field(ge=0.0, le=1.0)]
FailedTurns = Annotated[int, Field(ge=1, le=20)]
Sentiment = Annotated[float, Field(ge=-1.0, le=1.0)]
"""VADER's compound score of a message: -1 is the most negative, 1 the most positive."""
SentimentDrop = Annotated[float, Field(gt=0.0, le=2.0)]


_ONE_OVERRIDE_PER_CHANNEL = Rule(
    "self.all(c, self.exists_one(d, d.name == c.name))",
    "bot.handoff.channels must name each channel at most once",
    lambda overrides: len({entry.name for entry in overrides}) == len(overrides),
)


class ChannelHandoff(ApiModel):
    """Handoff settings of one channel's conversations; what it leaves out is spec.bot.handoff's."""

    name: ChannelName = Field(description="The channel: a name in spec.channels.")
    confidence_threshold: Share | None = Field(
        None, description="confidenceThreshold on this channel."
    )
    ambiguity_margin: Share | None = Field(None, description="ambiguityMargin on this channel.")
    max_failed_turns: FailedTurns | None = Field(
        None, description="maxFailedTurns on this channel."
    )
    sentiment_threshold: Sentiment | None = Field(
        None, description="sentimentThreshold on this channel."
    )
    sentiment_drop: SentimentDrop | None = Field(None, description="sentimentDrop on this channel.")
    clarify: bool | None = Field(None, description="clarify on this channel.")


class Handoff(ApiModel):
    """When the bot hands a conversation to a human agent (with the whole transcript)."""

    confidence_threshold: Share = Field(
        0.6,
        description=(
            "Hand off when the model's confidence in the customer's intent is below this, "
            "in [0, 1]."
        ),
    )
    ambiguity_margin: Share = Field(
        0.1,
        description=(
            "Hand off when the two likeliest intents are closer than this in confidence, in "
            "[0, 1]: the bot cannot tell what the customer means."
        ),
    )
    max_failed_turns: FailedTurns = Field(
        2,
        description=(
            "Hand off after this many turns that did not help (the customer says so), 1 to 20. "
            "A customer who asks for a person is handed off at once."
        ),
    )
    sentiment_threshold: Sentiment = Field(
        -1.0,
        description=(
            "Hand off when a customer message's sentiment is below this: VADER's compound "
            "score, from -1 (most negative) to 1. -1 never hands off; -0.6 catches clearly "
            'angry messages ("this is the worst service ever" scores -0.62).'
        ),
    )
    sentiment_drop: SentimentDrop = Field(
        2.0,
        description=(
            "Hand off when a negative message's sentiment (a score of -0.05 or less) is lower "
            "than the customer's previous message's by more than this, in (0, 2]. 2 never "
            "hands off; 1 catches a customer turning from pleased to annoyed."
        ),
    )
    clarify: bool = Field(
        False,
        description=(
            "Before handing off on low confidence or ambiguity, ask twice: whether the "
            'customer meant the likeliest intent ("Did you mean ...?", answered yes or no), '
            "then to put it in other words. The bot hands off only when that rephrased "
            "message is not understood either."
        ),
    )
    channels: Annotated[list[ChannelHandoff], _ONE_OVERRIDE_PER_CHANNEL] = Field(
        default_factory=list,
        description=(
            "Settings for the conversations of some channels: each names a channel of "
            "spec.channels and overrides the settings above that it sets."
        ),
        max_length=MAX_CHANNELS,
        json_schema_extra={"default": []},
    )

    def for_channel(self, channel: str) -> Handoff:
        """The settings of `channel`'s conversations: these, with its overrides applied."""
        overrides = next((entry for entry in self.channels if entry.name == channel), None)
        changes = (
            {} if overrides is None else overrides.model_dump(exclude_none=True, by_alias=False)
        )
        changes.pop("name", None)
        return self.model_copy(update={**changes, "channels": []})


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
    handoff: Handoff = defaulted(
        Handoff,
        "When the bot hands a conversation to a human agent.",
    )
    rollout: Rollout = defaulted(
        Rollout,
        "How a new model version is rolled out.",
    )
    resources: Resources | None = Field(
        None, description="Overrides of the bot container's CPU and memory."
    )
