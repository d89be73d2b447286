"""What the operator asks Prometheus about a ContactCenter, over the metrics contract
(DESIGN.md §3), and the two calls that ask it (`observe`, `arrival_history`).

The PromQL is built by pure functions (`workload_queries`, `arrivals_per_slot_query`) so it can
be read and tested as text; only `observe` and `arrival_history` do I/O.

**Whose series.** A ContactCenter's series are those labelled `contact_center="<name>"` (the
workloads and the simulator export it) whose `namespace` label is the ContactCenter's namespace
*or absent*: `namespace=~"<namespace>|"`. Prometheus' Kubernetes service discovery (and the
Prometheus Operator's ServiceMonitors and PodMonitors) label every target with its namespace, so
two ContactCenters of the same name in different namespaces stay apart; a Prometheus that
scrapes without that label (a static or file-based target list) still finds the series by name.

**Per workload, its tier.** Every contact meets the bot first, and the agents the contacts the
bot hands over (docs/metrics.md); each workload is sized from its own tier's series, labelled
`handler="bot"` or `handler="agent"`:

- offered: the bot's are all contacts (`switchboard_contacts_arrived_total`); the agents' are
  every contact the bot hands to their queue, escalated or failed
  (`switchboard_bot_handoffs_total`, whatever the reason; 0 while the bot has conversations but
  handed none over). The arrival rate is the offered rate;
- handle time: the mean of `switchboard_handle_time_seconds{handler}`;
- service level = the tier's answers within the objective
  (`switchboard_contacts_answered_total{handler, within_sla="true"}`) / its offered;
- abandonment = the tier's abandoned (`switchboard_contacts_abandoned_total{handler}`) / its
  offered;
- backlog = offered - answered - abandoned of the tier, each counted as its growth over the
  last hour (per series, its highest sample less its value an hour ago, or all of it for a
  series younger than the hour): the contacts that came to wait in
  that hour and still do. Not from the counters' totals: those are summed over the pods that
  exist now, so a pod gone (a scale-down, a restart) would take its answers with it and leave
  the contacts it answered waiting forever. Over a window, a pod's series counts what it did
  within the window until it leaves it, as do the contacts it answered. Not `increase`: it
  extrapolates to the window's ends, so a count that stands still would read differently at
  every evaluation (and be written to status each time); nor the lowest sample in the window,
  which misses what a new series counted before its first scrape. A contact waiting longer than
  the hour is not counted;
- contacts in the system = offered - completed (`switchboard_handle_time_seconds_count`) -
  abandoned of the tier, over the same hour;
- the service-level interval under way (15 minutes, `SERVICE_INTERVAL_SECONDS`, aligned to the
  clock as the contract's service level is judged): the tier's offered contacts, its answers
  within the objective and its abandoned since it began, each `increase()` over the time since
  its start (not overridable; no offered series leaves the decision sized for the target
  itself);
- patience is not derivable from the contract (the waits of contacts that abandoned are not
  exported), so it is None unless a query override gives it; the spec's `sla.patienceSeconds`
  applies then.

Rates are over a window: the long one (15 minutes by default, steady) for handle time, service
level and abandonment, and both the long and a short one (1 minute) for arrivals, so the
caller can react to a jump.

**Overrides.** A query in `spec.metrics.queries` replaces the built-in one for every workload
and window. In it, `$contact_center` and `$namespace` become this ContactCenter's name and
namespace (escaped for a PromQL string), `$window` the rate window (`900s`), `$workload` the
workload (`bot` or `agents`) and `$handler` the contract's handler label (`bot` or `agent`), so
one override can serve both workloads and both windows.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.sla import MetricQueries
from switchboard.contract import (
    ABANDONED,
    ANSWERED,
    ARRIVED,
    BOT_CONVERSATIONS,
    BOT_HANDOFFS,
    HANDLE_TIME,
    HANDLERS,
    ROUTING_QUEUE_HANDLE_TIME,
    Handler,
)
from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus
from switchboard.sizing.workloads import (
    SERVICE_INTERVAL_SECONDS,
    IntervalProgress,
    Observation,
    SkillGroupShare,
    Workload,
    interval_elapsed_seconds,
)

DEFAULT_WINDOW_SECONDS = 900.0
DEFAULT_RECENT_WINDOWS = (60.0, 300.0)
DEFAULT_AHT_WINDOW_SECONDS = 3600.0
# Backlog and contacts in the system are what accumulated over this window: far longer than
# anyone waits, and short enough that a pod gone soon stops counting.
ACCUMULATION_WINDOW_SECONDS = 3600.0
DAY_SECONDS = 86400

_PLACEHOLDER = re.compile(r"\$(contact_center|namespace|window|workload|handler)\b")
# RE2 (Prometheus' regular expressions) takes any punctuation escaped with a backslash.
_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


# --- pure: PromQL text -------------------------------------------------------------------------


def escape_label_value(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def escape_regex(value: str) -> str:
    """`value` as a regular expression matching exactly it (before string escaping)."""
    return _REGEX_SPECIAL.sub(r"\\\1", value)


def window(seconds: float) -> str:
    """A PromQL range for `seconds`: `900s`, or `1500ms` when not whole seconds."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"a rate window must be a positive number of seconds, got {seconds}")
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    milliseconds = round(seconds * 1000)
    if milliseconds < 1:
        raise ValueError(f"a rate window must be at least 1 ms, got {seconds}")
    return f"{milliseconds}ms"


def selector(contact_center: str, namespace: str, **labels: str) -> str:
    """The label matchers (without braces) of one contact center's series, plus `labels`."""
    matchers = [
        f'contact_center="{escape_label_value(contact_center)}"',
        f'namespace=~"{escape_label_value(escape_regex(namespace))}|"',
        *(f'{name}="{escape_label_value(value)}"' for name, value in labels.items()),
    ]
    return ",".join(matchers)


@dataclass(frozen=True)
class Target:
    """Whose series and which workload: the input of every query builder."""

    contact_center: str
    namespace: str
    workload: Workload
    overrides: MetricQueries

    @classmethod
    def of(cls, cc: ContactCenter, workload: Workload) -> Target:
        return cls(cc.name, cc.namespace, workload, cc.spec.metrics.queries)

    @property
    def handler(self) -> Handler:
        return HANDLERS[self.workload]

    def series(self, metric: str, **labels: str) -> str:
        return f"{metric}{{{selector(self.contact_center, self.namespace, **labels)}}}"

    def substitute(self, promql: str, window_seconds: float) -> str:
        """An override with its placeholders replaced (one pass: values are not rescanned)."""
        values = {
            "contact_center": escape_label_value(self.contact_center),
            "namespace": escape_label_value(self.namespace),
            "window": window(window_seconds),
            "workload": self.workload,
            "handler": self.handler,
        }
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], promql)


def _sum_rate(target: Target, metric: str, seconds: float, **labels: str) -> str:
    return f"sum(rate({target.series(metric, **labels)}[{window(seconds)}]))"


def _offered(target: Target, total: Callable[..., str]) -> str:
    """What the workload's tier is offered, with `total(metric, **labels)` summing a counter
    (as a rate or as its total)."""
    if target.workload == "bot":
        return total(ARRIVED)
    # No handoff series yet while the bot converses: none handed over, 0 (not "no data").
    return f"{total(BOT_HANDOFFS)} or ({total(BOT_CONVERSATIONS)} * 0)"


def _offered_rate(target: Target, seconds: float) -> str:
    return _offered(target, lambda metric, **labels: _sum_rate(target, metric, seconds, **labels))


def _sum_growth(target: Target, metric: str, **labels: str) -> str:
    """How much a counter grew over the accumulation window, summed over its series: its
    highest sample in the window less its value at the window's start, or all of it when the
    series began within the window."""
    series = target.series(metric, **labels)
    span = window(ACCUMULATION_WINDOW_SECONDS)
    highest = f"max_over_time({series}[{span}])"
    return f"sum(({highest} - {series} offset {span}) or {highest})"


def arrival_rate_query(target: Target, window_seconds: float) -> str:
    """Contacts per second offered to the workload's tier, over the window."""
    if target.overrides.arrival_rate is not None:
        return target.substitute(target.overrides.arrival_rate, window_seconds)
    return _offered_rate(target, window_seconds)


def handle_time_query(target: Target, window_seconds: float) -> str:
    """Mean handle time in seconds of the workload's handler, over the window (NaN: none)."""
    if target.overrides.handle_time_seconds is not None:
        return target.substitute(target.overrides.handle_time_seconds, window_seconds)
    handler = target.handler
    total = _sum_rate(target, f"{HANDLE_TIME}_sum", window_seconds, handler=handler)
    count = _sum_rate(target, f"{HANDLE_TIME}_count", window_seconds, handler=handler)
    return f"{total} / {count}"


def skill_group_queries(target: Target, window_seconds: float) -> tuple[str, str]:
    """Per routing queue (`by (queue)`): the contacts agents finished over the window, and the
    seconds they spent on them."""
    span = window(window_seconds)
    return (
        f"sum by (queue) (increase({target.series(f'{ROUTING_QUEUE_HANDLE_TIME}_count')}[{span}]))",
        f"sum by (queue) (increase({target.series(f'{ROUTING_QUEUE_HANDLE_TIME}_sum')}[{span}]))",
    )


def skill_group_shares(
    finished: Mapping[str, float], seconds: Mapping[str, float]
) -> tuple[SkillGroupShare, ...]:
    """Each routing queue's share of the finished contacts and its mean handle time, from
    what `skill_group_queries` answer (queues that finished nothing are left out)."""
    counted = {
        queue: count
        for queue, count in finished.items()
        if count > 0 and math.isfinite(count) and math.isfinite(seconds.get(queue, math.nan))
    }
    total = sum(counted.values())
    return tuple(
        SkillGroupShare(queue, count / total, seconds[queue] / count)
        for queue, count in sorted(counted.items())
    )


def abandon_rate_query(target: Target, window_seconds: float) -> str:
    """Share of the tier's offered contacts that left waiting for it, over the window (NaN:
    nothing offered)."""
    if target.overrides.abandon_rate is not None:
        return target.substitute(target.overrides.abandon_rate, window_seconds)
    abandoned = _sum_rate(target, ABANDONED, window_seconds, handler=target.handler)
    return f"({abandoned} or vector(0)) / ({_offered_rate(target, window_seconds)})"


def service_level_query(target: Target, window_seconds: float) -> str:
    """Share of the tier's offered contacts it answered within the objective, over the
    window."""
    if target.overrides.service_level is not None:
        return target.substitute(target.overrides.service_level, window_seconds)
    within = _sum_rate(target, ANSWERED, window_seconds, handler=target.handler, within_sla="true")
    offered = _offered_rate(target, window_seconds)
    # Over a short window, answers to contacts offered before it can outnumber the offered.
    return f"clamp_max(({within} or vector(0)) / ({offered}), 1)"


def _waiting_or_served(target: Target, gone: str) -> str:
    """What the tier was offered less its `gone` and its abandoned over the accumulation
    window, never below 0."""
    handler = target.handler
    offered = _offered(target, lambda metric, **labels: _sum_growth(target, metric, **labels))
    left = f"({_sum_growth(target, gone, handler=handler)} or vector(0))"
    abandoned = f"({_sum_growth(target, ABANDONED, handler=handler)} or vector(0))"
    return f"clamp_min(({offered}) - {left} - {abandoned}, 0)"


def queue_backlog_query(target: Target, window_seconds: float) -> str:
    """Contacts waiting for the tier now: offered - answered - abandoned over the accumulation
    window."""
    if target.overrides.queue_backlog is not None:
        return target.substitute(target.overrides.queue_backlog, window_seconds)
    return _waiting_or_served(target, ANSWERED)


def in_system_query(target: Target, window_seconds: float) -> str:
    """Contacts waiting for or with the tier now: offered - completed - abandoned over the
    accumulation window."""
    return _waiting_or_served(target, f"{HANDLE_TIME}_count")


def interval_queries(target: Target, elapsed_seconds: float) -> tuple[str, str, str]:
    """(offered, answered within the objective, abandoned) of the tier since the interval under
    way began, `elapsed_seconds` ago."""
    span = window(elapsed_seconds)

    def increase(metric: str, **labels: str) -> str:
        return f"sum(increase({target.series(metric, **labels)}[{span}]))"

    within = increase(ANSWERED, handler=target.handler, within_sla="true")
    abandoned = increase(ABANDONED, handler=target.handler)
    return _offered(target, increase), f"{within} or vector(0)", f"{abandoned} or vector(0)"


def patience_query(target: Target, window_seconds: float) -> str | None:
    """Mean patience in seconds: only from an override (the contract cannot give it)."""
    if target.overrides.patience_seconds is None:
        return None
    return target.substitute(target.overrides.patience_seconds, window_seconds)


def arrivals_per_slot_query(target: Target, slot_seconds: float) -> str:
    """Contacts reaching the workload in the `slot_seconds` before each evaluation time."""
    return f"({arrival_rate_query(target, slot_seconds)}) * {slot_seconds:g}"


@dataclass(frozen=True)
class WorkloadQueries:
    """The PromQL `observe` runs for one workload; `patience` is None without an override."""

    arrival_rate: str
    recent_arrival_rates: tuple[tuple[float, str], ...]  # (window seconds, PromQL)
    aht: str
    abandon_rate: str
    service_level: str
    backlog: str
    in_system: str
    patience: str | None
    skill_groups: tuple[str, str] | None = None  # (finished, seconds) by queue
    interval: tuple[str, str, str] | None = None  # (offered, within, abandoned) since it began


def workload_queries(
    cc: ContactCenter,
    workload: Workload,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    recent_windows: tuple[float, ...] = DEFAULT_RECENT_WINDOWS,
    aht_window_seconds: float = DEFAULT_AHT_WINDOW_SECONDS,
    interval_elapsed: float | None = None,
) -> WorkloadQueries:
    """The queries for one workload: arrivals over the rate window and each recent window,
    the handle time over its own (longer) window, the rest over the rate window; the counts of
    the service-level interval under way when `interval_elapsed` (seconds) has passed of it."""
    target = Target.of(cc, workload)
    return WorkloadQueries(
        arrival_rate=arrival_rate_query(target, window_seconds),
        recent_arrival_rates=tuple(
            (seconds, arrival_rate_query(target, seconds)) for seconds in recent_windows
        ),
        aht=handle_time_query(target, aht_window_seconds),
        abandon_rate=abandon_rate_query(target, window_seconds),
        service_level=service_level_query(target, window_seconds),
        backlog=queue_backlog_query(target, window_seconds),
        in_system=in_system_query(target, window_seconds),
        patience=patience_query(target, window_seconds),
        skill_groups=(
            skill_group_queries(target, aht_window_seconds)
            if workload == "agents" and cc.spec.routing is not None
            else None
        ),
        interval=(
            interval_queries(target, interval_elapsed)
            if interval_elapsed is not None and interval_elapsed >= 1.0
            else None
        ),
    )


# --- I/O: asking Prometheus --------------------------------------------------------------------


async def observe(
    prometheus: Prometheus,
    cc: ContactCenter,
    workload: Workload,
    *,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    recent_windows: tuple[float, ...] = DEFAULT_RECENT_WINDOWS,
    aht_window_seconds: float = DEFAULT_AHT_WINDOW_SECONDS,
    now: float | None = None,
) -> Observation:
    """Run the workload's queries concurrently (with the interval's counts when `now`, Unix
    seconds, is given). Raises `MetricsUnavailable` (naming the metric) when any of them cannot
    be answered; an empty answer is None, not an error."""
    elapsed = interval_elapsed_seconds(now) if now is not None else None
    queries = workload_queries(
        cc, workload, window_seconds, recent_windows, aht_window_seconds, elapsed
    )
    interval_offered, interval_within, interval_abandoned = queries.interval or (None,) * 3
    named: dict[str, str | None] = {
        "arrival rate": queries.arrival_rate,
        "handle time": queries.aht,
        "abandon rate": queries.abandon_rate,
        "service level": queries.service_level,
        "queue backlog": queries.backlog,
        "contacts in the system": queries.in_system,
        "patience": queries.patience,
        "offered in the interval": interval_offered,
        "answered within the objective in the interval": interval_within,
        "abandoned in the interval": interval_abandoned,
        **{
            f"arrival rate over {window(seconds)}": promql
            for seconds, promql in queries.recent_arrival_rates
        },
    }
    results = await asyncio.gather(
        *(_scalar_or_none(prometheus, promql) for promql in named.values()),
        return_exceptions=True,
    )
    for name, result in zip(named, results, strict=True):
        if isinstance(result, MetricsUnavailable):
            raise MetricsUnavailable(f"{name}: {result.reason}") from result
        if isinstance(result, BaseException):
            raise result
    values = [result for result in results if not isinstance(result, BaseException)]
    arrival, aht, abandon, service, backlog, in_system, patience, *counts = values
    offered, within, abandoned, *recent = counts
    skill_groups = (
        await _skill_groups(prometheus, *queries.skill_groups) if queries.skill_groups else ()
    )
    return Observation(
        arrival_rate=arrival,
        recent_arrival_rates=tuple(
            (seconds, rate)
            for (seconds, _), rate in zip(queries.recent_arrival_rates, recent, strict=True)
        ),
        aht_seconds=aht,
        abandon_rate=abandon,
        service_level=service,
        backlog=backlog,
        in_system=in_system,
        patience_seconds=patience,
        window_seconds=window_seconds,
        skill_groups=skill_groups,
        interval=(
            IntervalProgress(
                SERVICE_INTERVAL_SECONDS, elapsed, offered, within or 0.0, abandoned or 0.0
            )
            if elapsed is not None and offered is not None
            else None
        ),
    )


async def _skill_groups(
    prometheus: Prometheus, finished_query: str, seconds_query: str
) -> tuple[SkillGroupShare, ...]:
    try:
        finished, seconds = await asyncio.gather(
            prometheus.vector(finished_query), prometheus.vector(seconds_query)
        )
    except MetricsUnavailable as error:
        raise MetricsUnavailable(f"handle time by routing queue: {error.reason}") from error

    def by_queue(samples: list[tuple[dict[str, str], float]]) -> dict[str, float]:
        return {labels.get("queue", ""): value for labels, value in samples}

    return skill_group_shares(by_queue(finished), by_queue(seconds))


async def _scalar_or_none(prometheus: Prometheus, promql: str | None) -> float | None:
    return None if promql is None else await prometheus.scalar(promql)


@dataclass(frozen=True)
class ArrivalHistory:
    """Per-slot arrival counts, as `switchboard.sizing.forecast.forecast_arrivals` takes them.

    Days run from midnight UTC. `past_days`: the complete earlier days found, oldest first
    (a day with any slot that has no data is left out); `today`: each of today's completed
    slots, None where Prometheus has no data (before it or the workloads ran); its length is
    the index of the slot in progress."""

    past_days: tuple[tuple[float, ...], ...]
    today: tuple[float | None, ...]
    slot_seconds: float
    day_start: float  # today's midnight, Unix seconds

    @property
    def today_from_midnight(self) -> tuple[float, ...]:
        """Today's counts up to the first slot without data: `forecast_arrivals`' `today`.
        The slots after it are unknown; the forecast covers them (forecast them, then skip
        them, as the simulator's `SlotForecast` does)."""
        known: list[float] = []
        for count in self.today:
            if count is None:
                break
            known.append(count)
        return tuple(known)


async def arrival_history(
    prometheus: Prometheus,
    cc: ContactCenter,
    days: int,
    slot_seconds: float,
    now: float,
    *,
    workload: Workload = "bot",
    stride_days: int = 1,
) -> ArrivalHistory:
    """The workload's arrivals per slot over the `days` earlier days (every `stride_days`-th
    day back: 7 for the same weekday) and today so far, one range query per day, concurrently.
    Raises `MetricsUnavailable` when Prometheus cannot answer."""
    if days < 0 or stride_days < 1:
        raise ValueError(f"need days >= 0 and stride_days >= 1, got {days} and {stride_days}")
    if not (slot_seconds > 0 and (DAY_SECONDS / slot_seconds).is_integer()):
        raise ValueError(f"slot_seconds must divide a day, got {slot_seconds}")
    slots = round(DAY_SECONDS / slot_seconds)
    day_start = math.floor(now / DAY_SECONDS) * DAY_SECONDS
    current_slot = math.floor((now - day_start) / slot_seconds)
    promql = arrivals_per_slot_query(Target.of(cc, workload), slot_seconds)
    starts = [day_start - DAY_SECONDS * stride_days * back for back in range(days, 0, -1)]

    async def counts(start: float, completed: int) -> list[float | None]:
        found: list[float | None] = [None] * completed
        if completed == 0:
            return found
        points = await prometheus.series(
            promql, start + slot_seconds, start + completed * slot_seconds, slot_seconds
        )
        for time, value in points:
            index = round((time - start) / slot_seconds) - 1
            if 0 <= index < completed:
                found[index] = max(value, 0.0)
        return found

    *past, today = await asyncio.gather(
        *(counts(start, slots) for start in starts), counts(day_start, current_slot)
    )
    complete_days = tuple(
        tuple(count for count in day if count is not None)
        for day in past
        if all(count is not None for count in day)
    )
    return ArrivalHistory(
        past_days=complete_days,
        today=tuple(today),
        slot_seconds=slot_seconds,
        day_start=float(day_start),
    )
