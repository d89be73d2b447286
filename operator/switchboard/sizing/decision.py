"""The scaling decision: replicas for a workload from demand, the service target and the limits.

Pure and shared: the operator's control loop and the simulator's `switchboard` policy call
`decide` with what they observed and the `ScalingState` returned last time.

The order of the steps follows the HorizontalPodAutoscaler where it has an equivalent, so that
the behaviour SREs know carries over:

1. demand: the forecast rate, unless a measured rate lies above it beyond Poisson noise (a jump,
   or a forecast that is short): then that rate, of the shortest such window; without a
   forecast, the long-window rate unless a shorter window lies above it so. A measured rate
   below the forecast changes nothing: the forecast may be ahead of a ramp, and its level
   already follows a quieter day or a drop (see sizing.forecast);
2. load: the offered load is rate x handle time, or more while more contacts are in the system
   than that load keeps there: those still in it when new capacity is ready (each stays on with
   probability exp(-t / AHT)) plus the new ones (the M/M/inf transient);
3. size: the smallest staffing meeting the target for that load (Erlang A when patience is
   known, else Erlang C), plus servers to drain a backlog larger than that staffing would keep
   in steady state; replicas = ceil(servers / servers per replica). Where the demand is split
   into skill groups (routing queues), each group is sized for its share of the rate with its
   own handle time and the staffing is their sum (sizing.skill_groups). The target is the one
   the rest of the service-level interval under way needs (`Demand.interval`): the service
   level, and the abandonment within the cap, that its contacts still to be decided need for
   the interval to end at the target, with a margin for their noise; the target itself when
   capacity asked for now would serve the next interval;
4. stabilize: scale up to the lowest recommendation of the scale-up window, down to the highest
   of the scale-down window (fast up, slow down). With a forecast, a past recommendation is held
   less by what the rate's own recommendation has fallen since: the window holds what contacts
   in the system and a backlog added, while a falling forecast (or the end of a measured jump)
   is followed at once; and what it holds fades with its age, from all of it when just made to
   none at the window's end, or sooner while the interval under way is ahead of its target;
5. limit the step, never shrink while an excess backlog waits, and keep within min and max.

Missing metrics hold the current replicas: no data is never a reason to scale down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from switchboard.sizing.erlang import (
    InfeasibleTarget,
    Performance,
    no_arrivals,
    performance,
    required_servers,
)
from switchboard.sizing.skill_groups import GroupDemand, size_skill_groups
from switchboard.sizing.workloads import IntervalProgress, SkillGroupShare


@dataclass(frozen=True)
class ServiceTarget:
    """`target` of contacts answered within `within_seconds`, e.g. 0.8 and 20 for 80/20."""

    target: float
    within_seconds: float
    max_abandon: float | None = None
    max_occupancy: float = 1.0

    @property
    def label(self) -> str:
        return f"{self.target * 100:.4g}/{self.within_seconds:g}"


@dataclass(frozen=True)
class ScalingLimits:
    """Bounds and pace of scaling. Windows in seconds; steps per decision.

    A step limit is in replicas (`max_step_up`), in percent of the current replicas
    (`max_step_up_percent`), or both: then the larger applies, as the spec's
    `maxReplicasPerStep` and `maxPercentPerStep` (the HorizontalPodAutoscaler's
    `selectPolicy: Max`). None: no limit of that kind.
    """

    min_replicas: int
    max_replicas: int
    servers_per_replica: int = 1
    scale_up_window_seconds: float = 0.0
    scale_down_window_seconds: float = 300.0
    max_step_up: int | None = None
    max_step_down: int | None = None
    max_step_up_percent: float | None = None
    max_step_down_percent: float | None = None
    # An excess backlog gets the servers that would clear it within this time, about the patience
    # of callers: slower drains lose them, faster ones buy capacity that arrives after the queue.
    backlog_drain_seconds: float = 120.0
    # How long new replicas take to become ready, and how often decide runs: capacity asked for
    # now serves from readiness_seconds on until the next decision is ready too.
    readiness_seconds: float = 60.0
    interval_seconds: float = 30.0


@dataclass(frozen=True)
class Demand:
    """What the metrics say; None (or NaN) means the metric is missing.

    `arrival_rate` is measured over `arrival_window_seconds` (long and steady, 15 minutes);
    `recent_arrival_rates` are (window seconds, rate) over shorter windows (1 and 5 minutes), so
    that a jump or a drop shows at once. The handle time is best measured over a long window
    (an hour): a surge's first completions are its short contacts. `in_system` is the contacts
    in service or waiting now (arrived - completed - abandoned).
    """

    arrival_rate: float | None  # contacts per second
    aht_seconds: float | None
    patience_seconds: float | None = None  # mean time before abandoning; None: Erlang C
    backlog: float | None = None  # contacts waiting now
    arrival_window_seconds: float = 900.0
    recent_arrival_rates: tuple[tuple[float, float | None], ...] = ()
    in_system: float | None = None
    skill_groups: tuple[SkillGroupShare, ...] = ()
    """How the contacts split into skill groups; sized per group when there are two or more."""
    interval: IntervalProgress | None = None
    """The interval so far; None: every decision is sized for the target itself."""


@dataclass(frozen=True)
class Recommendation:
    """What decide recommended from `since` on, until it recommended something else.

    `for_rate` is what the arrival rate alone asked for (without contacts in the system or a
    backlog), when there was a forecast; None: the scale-down window holds `replicas` in full.
    """

    since: float
    replicas: int
    for_rate: int | None = None


@dataclass(frozen=True)
class ScalingState:
    """Carried from one decision to the next by the caller (the operator keeps it in status).

    The windows' contents are kept as changes: a recommendation is added only when it differs
    from the latest (and those out of the windows are dropped then), so the state changes only
    when the recommendation does, and the operator's status with it. A recommendation was last
    made one `interval_seconds` before the next one's `since` (the latest: now); it counts in a
    window while that is within the window.
    """

    recommendations: tuple[Recommendation, ...] = ()
    last_scale_time: float | None = None


@dataclass(frozen=True)
class Decision:
    """The replicas to run and why.

    `servers` is what the demand needs (None when metrics are missing or no staffing within
    max replicas meets the target); `predicted` is the performance at the chosen replicas.
    """

    replicas: int
    servers: int | None
    predicted: Performance | None
    reason: str
    metrics_available: bool
    state: ScalingState


def decide(
    now: float,
    current_replicas: int,
    demand: Demand,
    forecast_rate: float | None,
    target: ServiceTarget,
    limits: ScalingLimits,
    state: ScalingState,
) -> Decision:
    """The replicas to run from `now` on; see the module docstring for the steps."""
    arrival_rate = _known(demand.arrival_rate)
    aht = _known(demand.aht_seconds)
    aht = aht if aht is not None and aht > 0 else None
    backlog = max(_known(demand.backlog) or 0.0, 0.0)
    missing = _missing_metrics(arrival_rate, aht, forecast_rate, backlog)
    if arrival_rate is None or missing:
        return _hold(now, current_replicas, missing, limits, state)
    rate, departure = _demand_rate(arrival_rate, demand, _known(forecast_rate))
    patience = _known(demand.patience_seconds)
    patience = patience if patience is not None and 0 < patience < math.inf else None
    sizing_rate = _with_contacts_in_system(rate, aht, _known(demand.in_system), limits)
    rest = _interval_target(target, demand.interval, rate, backlog, limits)
    groups = demand.skill_groups if len(demand.skill_groups) > 1 else ()
    sizing = _size(sizing_rate, aht, patience, backlog, rest, limits, groups)
    recommendation = _within_bounds(sizing.replicas, limits)
    for_rate = (
        _rate_recommendation(rate, sizing_rate, sizing, aht, patience, rest, limits, groups)
        if _known(forecast_rate) is not None
        else None
    )
    recommendations = _recorded(
        state.recommendations, Recommendation(now, recommendation, for_rate), limits
    )
    replicas, why = _stabilized(
        now,
        current_replicas,
        recommendation,
        recommendations,
        limits,
        _fade_seconds(rest, target, limits),
    )
    if not why and recommendation != sizing.replicas:
        why = _limits_note(limits)
    replicas, why = _step_limited(current_replicas, replicas, why, limits)
    if sizing.excess_backlog > 0 and replicas < current_replicas:
        replicas, why = current_replicas, f"a backlog of {backlog:.0f} waits: not scaling down"
    bounded = _within_bounds(replicas, limits)
    if bounded != replicas:
        replicas, why = bounded, _limits_note(limits)
    predicted = (
        performance(
            sizing_rate,
            aht,
            replicas * limits.servers_per_replica,
            target.within_seconds,
            patience,
        )
        if sizing_rate > 0 and aht is not None
        else no_arrivals(replicas * limits.servers_per_replica)
    )
    demand_text = _describe_demand(
        arrival_rate, rate, departure, sizing_rate, _known(forecast_rate), aht, patience
    )
    if rest != target:
        demand_text += f", {_describe_rest(rest, target)}"
    reason = (
        f"{demand_text} → {sizing.describe(rest, backlog, limits)}; "
        f"{_describe_action(current_replicas, replicas, why)}, "
        f"{_describe_prediction(predicted, patience)}"
    )
    return Decision(
        replicas=replicas,
        servers=sizing.servers,
        predicted=predicted,
        reason=reason,
        metrics_available=True,
        state=ScalingState(
            recommendations, _last_scale_time(now, current_replicas, replicas, state)
        ),
    )


def _known(value: float | None) -> float | None:
    """None for a missing value; Prometheus reports an empty ratio (0/0) as NaN."""
    return None if value is None or math.isnan(value) else value


# A measured rate replaces the expected one when its count lies this many standard deviations
# of Poisson noise above: by chance about once in 30,000 decisions, at once for a 3x surge.
DEPARTURE_SIGMAS = 4.0


def _demand_rate(
    arrival_rate: float, demand: Demand, forecast_rate: float | None
) -> tuple[float, str]:
    """The rate to size for, and which measurement lies above the expected rate beyond Poisson
    noise ("" when none does). Expected: the forecast, else the long-window rate. Measured
    windows are tried shortest first, so after a jump the rate since the jump counts, not an
    average across it."""
    expected = forecast_rate if forecast_rate is not None else arrival_rate
    windows = sorted(
        (seconds, rate)
        for seconds, rate in demand.recent_arrival_rates
        if seconds > 0 and rate is not None and not math.isnan(rate) and rate >= 0
    )
    if forecast_rate is not None:
        windows.append((demand.arrival_window_seconds, arrival_rate))
    for seconds, rate in windows:
        if _above(rate, expected, seconds):
            return rate, f"over {seconds:g} s"
    return expected, ""


def _above(rate: float, expected: float, seconds: float) -> bool:
    """Whether `rate` over `seconds` lies above `expected` beyond Poisson noise (in counts, +1
    for the discreteness of small ones)."""
    observed, mean = rate * seconds, max(expected, 0.0) * seconds
    return observed - mean > DEPARTURE_SIGMAS * math.sqrt(mean) + 1.0


# The rest of an interval is sized for the service level it needs to end at the target (and for
# the abandonment it may still have within the cap), with this many standard deviations of the
# binomial noise of its remaining contacts as a margin, within these bounds.
INTERVAL_SIGMAS = 1.0
INTERVAL_FLOOR = 0.5
INTERVAL_CEILING = 0.95
ABANDON_CAP_RANGE = (0.5, 2.0)  # times the cap
# How steeply the scale-down hold shortens as an interval gets ahead of its target (see
# _fade_seconds): 1 shortens it in proportion, 0 never. Chosen on the tuning days, where 1
# saved 0.6% of the replica-hours for 0.38 points of intervals met, and 0.5 saved 0.3% for 0.18.
LEAD_FADE_POWER = 0.5


def _interval_target(
    target: ServiceTarget,
    interval: IntervalProgress | None,
    rate: float,
    backlog: float,
    limits: ScalingLimits,
) -> ServiceTarget:
    """The target for the rest of the interval under way, from its contacts so far.

    Capacity asked for now serves from readiness on until the next decision's is ready; when
    that reaches past the interval's end, it serves the next interval, which starts from
    nothing: the target itself. Otherwise the undecided contacts (those waiting now and those
    still to come) must make up what the decided ones did not: an interval ahead of the target
    runs leaner, down to what its remaining contacts need with a margin for their noise (never
    below what the target itself asks), one behind asks for what it needs. The abandonment cap
    likewise."""
    if interval is None or interval.length_seconds <= 0:
        return target
    remaining = interval.length_seconds - interval.elapsed_seconds
    if remaining < limits.readiness_seconds + limits.interval_seconds:
        return target
    offered = max(interval.offered, 0.0)
    waiting = min(backlog, offered)
    coming = max(rate, 0.0) * remaining
    undecided = waiting + coming
    if undecided <= 0:
        return target
    missed = max(0.0, offered - waiting - max(interval.answered_within, 0.0))
    needed = 1.0 - _share_left((1.0 - target.target), missed, offered + coming, undecided)
    level = max(needed, min(target.target, needed + _noise(needed, undecided)))
    rest = replace(
        target,
        target=min(
            max(level, min(INTERVAL_FLOOR, target.target)),
            max(INTERVAL_CEILING, target.target),
        ),
    )
    if target.max_abandon is None:
        return rest
    cap = target.max_abandon
    left = _share_left(cap, max(interval.abandoned, 0.0), offered + coming, undecided)
    allowed = min(left, max(cap, left - _noise(left, undecided)))
    low, high = ABANDON_CAP_RANGE
    return replace(rest, max_abandon=min(max(allowed, low * cap), high * cap, 1.0))


def _share_left(share: float, used: float, total: float, undecided: float) -> float:
    """The share of the undecided contacts that may still miss (or abandon) for the interval's
    `total` to stay within `share`, after `used` did."""
    return (share * total - used) / undecided


def _noise(share: float, count: float) -> float:
    """The margin for a share of `count` contacts: INTERVAL_SIGMAS binomial deviations."""
    bounded = min(max(share, 0.0), 1.0)
    return INTERVAL_SIGMAS * math.sqrt(bounded * (1.0 - bounded) / count)


def _with_contacts_in_system(
    rate: float, aht: float | None, in_system: float | None, limits: ScalingLimits
) -> float:
    """The arrival rate whose offered load matches what the servers will face once new capacity
    is ready: contacts in the system now that are still there (each with probability
    exp(-t / AHT), as in M/M/inf) plus the load of new ones; never less than the rate's own."""
    if aht is None or in_system is None or in_system <= rate * aht:
        return rate
    stays = math.exp(-(limits.readiness_seconds + limits.interval_seconds) / aht)
    load = in_system * stays + rate * aht * (1.0 - stays)
    return load / aht


def _missing_metrics(
    arrival_rate: float | None, aht: float | None, forecast_rate: float | None, backlog: float
) -> list[str]:
    missing = []
    if arrival_rate is None or arrival_rate < 0:
        missing.append("arrival rate")
    # Handle time is only needed when there is something to handle: at night nothing completes
    # and the AHT query comes back empty, which must not block a scale-down.
    demand_seen = (arrival_rate or 0.0) > 0 or (_known(forecast_rate) or 0.0) > 0 or backlog > 0
    if aht is None and demand_seen:
        missing.append("handle time")
    return missing


def _hold(
    now: float,
    current_replicas: int,
    missing: list[str],
    limits: ScalingLimits,
    state: ScalingState,
) -> Decision:
    replicas = _within_bounds(current_replicas, limits)
    return Decision(
        replicas=replicas,
        servers=None,
        predicted=None,
        reason=f"no {' or '.join(missing)} metric: holding {replicas} replicas",
        metrics_available=False,
        state=ScalingState(
            state.recommendations,
            _last_scale_time(now, current_replicas, replicas, state),
        ),
    )


@dataclass(frozen=True)
class _Sizing:
    servers: int | None  # None: no staffing within max replicas meets the target
    drain_servers: int
    excess_backlog: float
    replicas: int  # what the servers take, before the replica limits
    groups: int = 0  # the skill groups sized one by one (0: one pool)

    def describe(self, target: ServiceTarget, backlog: float, limits: ScalingLimits) -> str:
        if self.servers is None:
            return f"no staffing within {limits.max_replicas} replicas meets {target.label}"
        drain = (
            f" + {self.drain_servers} to drain a backlog of {backlog:.0f}"
            if self.drain_servers
            else ""
        )
        groups = f" in {self.groups} skill groups" if self.groups else ""
        return f"{self.servers} servers for {target.label}{groups}{drain}"


def _size(
    rate: float,
    aht: float | None,
    patience: float | None,
    backlog: float,
    target: ServiceTarget,
    limits: ScalingLimits,
    groups: tuple[SkillGroupShare, ...] = (),
) -> _Sizing:
    capacity = limits.max_replicas * limits.servers_per_replica
    if aht is None:  # only when nothing arrives or waits (see _missing_metrics)
        return _Sizing(0, 0, 0.0, 0)
    try:
        servers, queued = _staffing(rate, aht, patience, target, capacity, groups)
    except InfeasibleTarget:
        return _Sizing(None, 0, backlog, limits.max_replicas, len(groups))
    # Only a backlog beyond what the staffing keeps queued in steady state needs extra servers.
    excess = max(0.0, backlog - queued)
    drain = math.ceil(excess * aht / limits.backlog_drain_seconds)
    replicas = math.ceil((servers + drain) / limits.servers_per_replica)
    return _Sizing(servers, drain, excess, replicas, len(groups))


def _staffing(
    rate: float,
    aht: float,
    patience: float | None,
    target: ServiceTarget,
    capacity: int,
    groups: tuple[SkillGroupShare, ...],
) -> tuple[int, float]:
    """The fewest servers meeting the target, and the contacts they keep waiting in steady
    state (rate x ASA, Little's law, per group where there are groups); InfeasibleTarget
    beyond `capacity`."""
    if not groups:
        sized = required_servers(
            rate,
            aht,
            target=target.target,
            within_seconds=target.within_seconds,
            max_occupancy=target.max_occupancy,
            patience_seconds=patience,
            max_abandon=target.max_abandon,
            max_servers=capacity,
        )
        return sized.servers, rate * sized.asa_seconds
    demands = [GroupDemand(g.name, rate * g.share, g.aht_seconds) for g in groups]
    staffing = size_skill_groups(
        demands,
        target=target.target,
        within_seconds=target.within_seconds,
        max_occupancy=target.max_occupancy,
        patience_seconds=patience,
        max_abandon=target.max_abandon,
    )
    if staffing.agents > capacity:
        raise InfeasibleTarget(f"{staffing.agents} servers exceed the {capacity} available")
    queued = sum(d.arrival_rate * staffing.groups[d.name].asa_seconds for d in demands)
    return staffing.agents, queued


def _rate_recommendation(
    rate: float,
    sizing_rate: float,
    sizing: _Sizing,
    aht: float | None,
    patience: float | None,
    target: ServiceTarget,
    limits: ScalingLimits,
    groups: tuple[SkillGroupShare, ...],
) -> int:
    """The replicas the rate alone needs, without contacts in the system or a backlog."""
    if sizing_rate == rate and not sizing.drain_servers:
        return _within_bounds(sizing.replicas, limits)
    alone = _size(rate, aht, patience, 0.0, target, limits, groups)
    return _within_bounds(alone.replicas, limits)


def _recorded(
    recommendations: tuple[Recommendation, ...], latest: Recommendation, limits: ScalingLimits
) -> tuple[Recommendation, ...]:
    """The recommendations with `latest` added, unless it is what the latest one says. Those
    out of both windows are dropped then, and only then: they no longer count, and dropping
    them as they age would change the state (and the operator's status) with nothing else
    changing."""
    if recommendations and (recommendations[-1].replicas, recommendations[-1].for_rate) == (
        latest.replicas,
        latest.for_rate,
    ):
        return recommendations
    window = max(limits.scale_up_window_seconds, limits.scale_down_window_seconds)
    added = (*recommendations, latest)
    last_made = _last_made(added, latest.since, limits)
    return tuple(
        r for r, made in zip(added, last_made, strict=True) if latest.since - made <= window
    )


def _last_made(
    recommendations: tuple[Recommendation, ...], now: float, limits: ScalingLimits
) -> list[float]:
    """When each recommendation was last made: one interval before the next one began; now
    for the latest."""
    following = [r.since - limits.interval_seconds for r in recommendations[1:]]
    return [*following, now][: len(recommendations)]


def _released(recommendations: tuple[Recommendation, ...]) -> list[int]:
    """Each recommendation less what the rate's own recommendation has fallen since.

    The scale-down window keeps a short lull in what is measured from stranding the next wave.
    With a forecast, the rate sized for has no such lulls: a measured rate below the forecast
    changes nothing, one above it counts only beyond Poisson noise and, as a surge ends, falls
    back through the longer windows. So a fall of the rate's recommendation is followed at once;
    what the queue's present state added (contacts in the system, a backlog: counts that a lull
    moves) is held for the window. A recommendation without a rate one (no forecast then, or a
    state from before) is held in full, as the HorizontalPodAutoscaler holds it."""
    rate_now = recommendations[-1].for_rate
    if rate_now is None:
        return [r.replicas for r in recommendations]
    return [
        r.replicas - max(0, r.for_rate - rate_now) if r.for_rate is not None else r.replicas
        for r in recommendations
    ]


def _fade_seconds(rest: ServiceTarget, target: ServiceTarget, limits: ScalingLimits) -> float:
    """How long a held recommendation takes to fade: the scale-down window, shortened as the
    interval under way is ahead of its target. Its rest may then miss (and abandon) more than
    the target allows, its own sizing being the margin, so holding capacity there buys little;
    an interval behind, or one the capacity would no longer serve, holds for the whole window.
    How far ahead: the target's share of misses over the share the rest may miss, or the
    abandonment cap over what the rest may abandon, whichever is nearer; the window shrinks
    with its square root (LEAD_FADE_POWER)."""
    window = limits.scale_down_window_seconds
    pressures = [(1.0 - target.target) / (1.0 - rest.target) if rest.target < 1.0 else 1.0]
    if target.max_abandon is not None and rest.max_abandon:
        pressures.append(target.max_abandon / rest.max_abandon)
    return window * math.pow(min(1.0, max(pressures)), LEAD_FADE_POWER)


def _stabilized(
    now: float,
    current: int,
    recommended: int,
    recommendations: tuple[Recommendation, ...],
    limits: ScalingLimits,
    fade_seconds: float,
) -> tuple[int, str]:
    """HPA stabilization: up to the lowest recommendation of the scale-up window, down to the
    highest of the scale-down window as `_released` holds them, else stay. With a forecast, a
    held recommendation with a rate part fades over `fade_seconds` (`_faded`); without them it
    is held in full for the window, as the HorizontalPodAutoscaler holds it."""
    ages = [now - made for made in _last_made(recommendations, now, limits)]
    up_to = min(
        r.replicas
        for r, age in zip(recommendations, ages, strict=True)
        if age <= limits.scale_up_window_seconds
    )
    fading = recommendations[-1].for_rate is not None
    down_to = max(
        _faded(held, recommended, age, fade_seconds) if fading and r.for_rate is not None else held
        for r, held, age in zip(recommendations, _released(recommendations), ages, strict=True)
        if age <= limits.scale_down_window_seconds
    )
    replicas = up_to if current < up_to else down_to if current > down_to else current
    if replicas < recommended:
        return replicas, f"scale-up stabilization {limits.scale_up_window_seconds:g} s"
    if replicas > recommended:
        return replicas, f"scale-down stabilization {limits.scale_down_window_seconds:g} s"
    return replicas, ""


def _faded(held: int, recommended: int, age: float, window: float) -> int:
    """What a held recommendation still asks for `age` seconds after it was last made: its
    excess over the latest recommendation, shrinking in proportion to its age to nothing at
    the window's end. A peak of contacts in the system is most likely to come back soon after
    it; holding it whole for the window paid for capacity long after it had passed."""
    if held <= recommended:
        return held
    if age >= window:
        return recommended
    return recommended + math.ceil((held - recommended) * (1.0 - age / window) - 1e-9)


def _step_limited(current: int, replicas: int, why: str, limits: ScalingLimits) -> tuple[int, str]:
    up = _step(current, limits.max_step_up, limits.max_step_up_percent)
    down = _step(current, limits.max_step_down, limits.max_step_down_percent)
    if up is not None and replicas > current + up:
        return current + up, f"step limit +{up}"
    if down is not None and replicas < current - down:
        return current - down, f"step limit -{down}"
    return replicas, why


def _step(current: int, replicas: int | None, percent: float | None) -> int | None:
    """The larger of the replica and percent limits (None: no limit)."""
    steps = [replicas] if replicas is not None else []
    if percent is not None:
        steps.append(math.ceil(current * percent / 100.0 - 1e-9))
    return max(steps) if steps else None


def _within_bounds(replicas: int, limits: ScalingLimits) -> int:
    return min(max(replicas, limits.min_replicas), limits.max_replicas)


def _limits_note(limits: ScalingLimits) -> str:
    return f"replica limits {limits.min_replicas}-{limits.max_replicas}"


def _last_scale_time(now: float, current: int, replicas: int, state: ScalingState) -> float | None:
    return now if replicas != current else state.last_scale_time


def _describe_demand(
    arrival_rate: float,
    rate: float,
    departure: str,
    sizing_rate: float,
    forecast_rate: float | None,
    aht: float | None,
    patience: float | None,
) -> str:
    text = f"arrivals {arrival_rate:.2f}/s"
    if departure:
        text += f" ({rate:.2f}/s {departure}"
        text += f", forecast {forecast_rate:.2f}/s)" if forecast_rate is not None else ")"
    elif forecast_rate is not None:
        text += f" (forecast {rate:.2f}/s)"
    if sizing_rate > rate:
        text += f", in system as {sizing_rate:.2f}/s"
    if aht is not None:
        text += f", AHT {aht:.0f} s"
    if patience is not None:
        text += f", patience {patience:.0f} s"
    return text


def _describe_rest(rest: ServiceTarget, target: ServiceTarget) -> str:
    text = f"the interval's rest needs {rest.label}"
    if rest.max_abandon is not None and rest.max_abandon != target.max_abandon:
        text += f" with at most {rest.max_abandon:.1%} abandoned"
    return f"{text} to end at {target.label}"


def _describe_prediction(predicted: Performance, patience: float | None) -> str:
    text = f"predicted SL {predicted.service_level:.2f}"
    if patience is not None:
        text += f", abandonment {predicted.abandonment:.1%}"
    return text


def _describe_action(current: int, replicas: int, why: str) -> str:
    action = f"scaling {current} → {replicas}" if replicas != current else f"keeping {replicas}"
    return f"{action} replicas" + (f" ({why})" if why else "")
