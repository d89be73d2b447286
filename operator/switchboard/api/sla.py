"""What capacity is sized for and from: the service-level objective, the metrics, the forecast."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from switchboard.api.rules import Rule
from switchboard.api.types import ApiModel, Duration, HttpURL, PromQL, defaulted, duration_at_least


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
        description=(
            "Days of history the forecast reads: the intraday profile of the same weekday in "
            "each week within them (7: the same day last week; 28: the last four). Prometheus "
            "must keep that much; a week it no longer holds is skipped."
        ),
        ge=7,
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
