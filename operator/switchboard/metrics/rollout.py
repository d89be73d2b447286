"""What the rollout controller asks Prometheus (docs/rollouts.md): the counts of the canary's
analysis per model version since the canary began, and what the bot tracks report of
themselves (`switchboard_bot_active_conversations`).

The PromQL is built by pure functions, so it can be read and tested as text; `observe_analysis`,
`active_conversations` and `served_versions` do the I/O. Series are a ContactCenter's as in
`queries.py` (its name, and its namespace or none).

**Counts since the canary began.** A built-in metric counts outcomes (or bot turns) per version
with `increase(...[W])` over W, the seconds since `status.rollout.startedAt`, all evaluated at
one instant so that a count's events never outnumber its total. Series a pod creates mid-window
lose their first increment in `increase`, so the data plane makes a version's series at 0
before counting in them (`ContractMetrics.bot_model`).

**latency-p95** counts turns slower than maxSeconds: all turns of the version minus those in
the `le` bucket of maxSeconds (written `1` by some clients and `1.0` by prometheus_client; both
are matched). A maxSeconds that is no bucket bound has no series: no data.

**service-level** has no per-version series in the contract (contacts are offered before a
model answers them): without a query it has no data.

**Custom metrics** run their `query` once per version, with `$version`, `$contact_center` and
`$namespace` replaced (escaped for a PromQL string).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping
from datetime import datetime

from switchboard.api.bot import Analysis
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import ModelStatus
from switchboard.contract import BOT_ACTIVE_CONVERSATIONS, BOT_CONVERSATIONS, BOT_RESPONSE
from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus
from switchboard.metrics.queries import escape_label_value, escape_regex, selector, window
from switchboard.rollout.analysis import Measurement, Observation, Proportions, Values, measurement
from switchboard.rollout.sequential import Counts

_PLACEHOLDER = re.compile(r"\$(version|contact_center|namespace)\b")


# --- pure: PromQL text -------------------------------------------------------------------------


def _series(cc: ContactCenter, metric: str, **labels: str) -> str:
    return f"{metric}{{{selector(cc.name, cc.namespace, **labels)}}}"


def _increase(cc: ContactCenter, metric: str, seconds: float, **labels: str) -> str:
    return f"sum(increase({_series(cc, metric, **labels)}[{window(seconds)}]))"


def bucket_bound(seconds: float) -> str:
    """A regular expression matching the `le` label of the bucket bound `seconds`, as Go
    (`1`, `0.5`) and Python (`1.0`, `0.5`) clients write it."""
    python = repr(float(seconds))
    go = str(int(seconds)) if float(seconds).is_integer() and seconds < 1e6 else python
    return "|".join(escape_regex(text) for text in dict.fromkeys((go, python)))


def count_queries(
    cc: ContactCenter, how: Measurement, version: str, seconds: float
) -> tuple[str, str] | None:
    """(events, total) PromQL of a built-in metric for one version over the last `seconds`;
    None for one the contract has no per-version series of (service-level)."""
    if how.kind == "outcomes":
        assert how.outcome is not None
        return (
            _increase(cc, BOT_CONVERSATIONS, seconds, model_version=version, outcome=how.outcome),
            _increase(cc, BOT_CONVERSATIONS, seconds, model_version=version),
        )
    if how.kind == "slow-turns":
        assert how.seconds is not None
        turns = _increase(cc, f"{BOT_RESPONSE}_count", seconds, model_version=version)
        fast = (
            f"sum(increase({BOT_RESPONSE}_bucket{{"
            f"{selector(cc.name, cc.namespace, model_version=version)},"
            f'le=~"{escape_label_value(bucket_bound(how.seconds))}"}}[{window(seconds)}]))'
        )
        return f"{turns} - {fast}", turns
    return None


def custom_query(cc: ContactCenter, query: str, version: str) -> str:
    """A custom metric's query for one version (one pass: values are not rescanned)."""
    values = {
        "version": escape_label_value(version),
        "contact_center": escape_label_value(cc.name),
        "namespace": escape_label_value(cc.namespace),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], query)


def active_conversations_query(cc: ContactCenter, track: str, version: str) -> str:
    """Conversations of a bot track and model version the bot still serves. Every replica of
    the track reports the same count (it reads the store), so the largest is the count."""
    return f"max({_series(cc, BOT_ACTIVE_CONVERSATIONS, track=track, model_version=version)})"


def served_versions_query(cc: ContactCenter, track: str) -> str:
    """The model versions the replicas of a bot track serve (each reports its own), with how
    many replicas serve each."""
    return f"count by (model_version) ({_series(cc, BOT_ACTIVE_CONVERSATIONS, track=track)})"


def analysis_seconds(since: datetime, now: datetime) -> float:
    """The window counts are taken over: whole seconds since the canary began, at least one."""
    return float(max(1, math.ceil((now - since).total_seconds())))


# --- I/O: asking Prometheus --------------------------------------------------------------------


async def observe_analysis(
    prometheus: Prometheus,
    cc: ContactCenter,
    analysis: Analysis,
    versions: tuple[ModelStatus, ModelStatus],
    since: datetime,
    now: datetime,
) -> dict[str, Observation]:
    """What each analysis metric observed of (canary, stable) since `since`, evaluated at
    `now`. Raises `MetricsUnavailable` when Prometheus cannot answer; a series that does not
    exist is no data, not an error."""
    seconds = analysis_seconds(since, now)
    at = now.timestamp()

    async def scalar(promql: str) -> float | None:
        return await prometheus.scalar(promql, at=at)

    async def counts(how: Measurement, version: str) -> Counts | None:
        queries = count_queries(cc, how, version, seconds)
        if queries is None:
            return None
        events, total = await asyncio.gather(*(scalar(promql) for promql in queries))
        if events is None or total is None:
            return None
        return Counts(min(max(events, 0.0), total), total) if total > 0 else Counts(0.0, 0.0)

    async def observe(name: str, how: Measurement) -> tuple[str, Observation]:
        canary, stable = versions
        if how.kind == "query":
            assert how.query is not None
            query = how.query
            found = await asyncio.gather(
                *(scalar(custom_query(cc, query, v.version)) for v in (canary, stable))
            )
            return name, Values(*found)
        canary_counts, stable_counts = await asyncio.gather(
            counts(how, canary.version), counts(how, stable.version)
        )
        return name, Proportions(canary_counts, stable_counts)

    observed = await asyncio.gather(
        *(observe(metric.name, measurement(metric)) for metric in analysis.metrics)
    )
    return dict(observed)


async def active_conversations(
    prometheus: Prometheus, cc: ContactCenter, track: str, version: str
) -> int | None:
    """The conversations of `track` that started on `version` and are still with the bot;
    None when no replica of it reports (or Prometheus cannot say)."""
    try:
        value = await prometheus.scalar(active_conversations_query(cc, track, version))
    except MetricsUnavailable:
        return None
    return None if value is None else max(0, round(value))


async def served_versions(
    prometheus: Prometheus, cc: ContactCenter, track: str
) -> Mapping[str, int] | None:
    """Replicas of `track` per model version they serve, as Prometheus last saw them; None
    when Prometheus cannot say."""
    try:
        found = await prometheus.vector(served_versions_query(cc, track))
    except MetricsUnavailable:
        return None
    return {
        labels["model_version"]: round(value)
        for labels, value in found
        if "model_version" in labels
    }
