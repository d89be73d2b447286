"""Capacity policies: how many replicas a tier gets, decided from what can be observed of it.

Each tier (the bot, the agents) has its own policy, evaluated every `period_seconds` of simulated
time; it returns the replicas it wants, and the driver turns them into servers (replicas x
servers per replica: bot concurrency, agent seats). Policies keep their own memory
(stabilisation windows) but do no I/O. A `DayPolicy` is one kind of policy for both tiers.

- `hpa_policy`: a HorizontalPodAutoscaler on CPU, where a pod's CPU is the share of its servers
  busy.
- `keda_policy`: KEDA's RabbitMQ scaler in QueueLength mode over the HTTP API (messages ready +
  unacknowledged = contacts waiting for the tier + contacts with it), fed to the HPA it creates.
- `SwitchboardPolicy`: the operator's own decision, `switchboard.sizing.decision.decide`.
- `ErlangAtMeanPolicy`: Erlang A sizing of every slot's true mean rate, ready in time (a
  reference schedule; the hindsight oracle is in `hindsight`).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.simulator.contacts import ContactModel
from switchboard.simulator.engine import Counters
from switchboard.simulator.traffic import ArrivalProfile, Trace
from switchboard.sizing.decision import (
    Demand,
    ScalingLimits,
    ScalingState,
    ServiceTarget,
    decide,
)
from switchboard.sizing.erlang import InfeasibleTarget, required_servers
from switchboard.sizing.lookahead import forecast_slots, rate_to_size_for, slots_until_ready
from switchboard.sizing.workloads import (
    SERVICE_INTERVAL_SECONDS,
    WORKLOADS,
    IntervalProgress,
    Workload,
    interval_elapsed_seconds,
)


@dataclass(frozen=True)
class ReplicaBounds:
    """What every policy of a tier must respect: replica range and servers per replica."""

    min_replicas: int = 1
    max_replicas: int = 1000
    servers_per_replica: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise ValueError("replicas need 0 <= min <= max")
        if self.servers_per_replica < 1:
            raise ValueError("a replica holds at least one server")

    def clamp(self, replicas: int) -> int:
        return min(max(replicas, self.min_replicas), self.max_replicas)

    def replicas_for(self, servers: int) -> int:
        return math.ceil(servers / self.servers_per_replica)


@dataclass(frozen=True)
class Telemetry:
    """Snapshots of a tier's counters, oldest first; windows are measured between snapshots,
    the way Prometheus computes `rate()` from counter samples."""

    snapshots: Sequence[Counters]

    @property
    def latest(self) -> Counters:
        return self.snapshots[-1]

    def _since(self, seconds: float) -> Counters | None:
        """The oldest snapshot not older than `seconds` before the latest, if it is earlier."""
        cutoff = self.latest.time - seconds
        for snapshot in self.snapshots:
            if snapshot.time >= cutoff - 1e-9:
                return snapshot if snapshot.time < self.latest.time else None
        return None

    def arrival_rate(self, seconds: float) -> float | None:
        start = self._since(seconds)
        if start is None:
            return None
        return (self.latest.offered - start.offered) / (self.latest.time - start.time)

    def mean_handle_time(self, seconds: float) -> float | None:
        start = self._since(seconds)
        completed = self.latest.completed - start.completed if start is not None else 0
        if start is None or completed == 0:
            return None
        return (self.latest.handle_time_sum - start.handle_time_sum) / completed

    def in_system(self) -> int:
        """Contacts in service or waiting now, from the counters as Prometheus has them."""
        latest = self.latest
        return latest.offered - latest.completed - latest.abandoned

    def interval_progress(self, length_seconds: float) -> IntervalProgress | None:
        """The counts since the clock-aligned interval under way began, as `increase()` over
        the time since its start gives them; None at its very start."""
        elapsed = interval_elapsed_seconds(self.latest.time, length_seconds)
        start = self._since(elapsed)
        if start is None:
            return None
        return IntervalProgress(
            length_seconds,
            elapsed,
            offered=self.latest.offered - start.offered,
            answered_within=self.latest.answered_within_target - start.answered_within_target,
            abandoned=self.latest.abandoned - start.abandoned,
        )

    def busy_servers(self, seconds: float) -> float:
        """Mean busy servers over the window (the instantaneous count without history)."""
        start = self._since(seconds)
        if start is None:
            return float(self.latest.busy_servers)
        busy = self.latest.busy_server_seconds - start.busy_server_seconds
        return busy / (self.latest.time - start.time)


class CapacityPolicy(Protocol):
    name: str
    period_seconds: float

    def desired_replicas(self, telemetry: Telemetry) -> int: ...


@dataclass
class HorizontalPodAutoscaler:
    """The HorizontalPodAutoscaler (autoscaling/v2) with its default behaviour, on one metric.

    Every 15 s sync: desired = ceil(metric summed over pods / target per pod), unless the ratio of
    the metric to its target is within the 10% tolerance; scale up at once, by at most
    max(100%, 4 pods) per sync; scale down to the highest recommendation of the last 300 s.
    `metric` returns the sum over pods, in the unit of `target_per_replica`.
    """

    name: str
    bounds: ReplicaBounds
    metric: Callable[[Telemetry, ReplicaBounds], float]
    target_per_replica: float
    period_seconds: float = 15.0
    tolerance: float = 0.1
    scale_down_stabilisation_seconds: float = 300.0
    _recommendations: deque[tuple[float, int]] = field(default_factory=deque)

    def desired_replicas(self, telemetry: Telemetry) -> int:
        now = telemetry.latest.time
        current = self.bounds.replicas_for(telemetry.latest.requested_servers)
        total = self.metric(telemetry, self.bounds)
        usage_ratio = total / (self.target_per_replica * max(current, 1))
        if abs(usage_ratio - 1.0) <= self.tolerance:
            recommendation = current
        else:
            recommendation = math.ceil(total / self.target_per_replica - 1e-9)
        recommendation = self.bounds.clamp(recommendation)
        self._recommendations.append((now, recommendation))
        while self._recommendations[0][0] < now - self.scale_down_stabilisation_seconds:
            self._recommendations.popleft()
        highest_recent = max(replicas for _, replicas in self._recommendations)
        stabilised = recommendation if recommendation >= current else min(current, highest_recent)
        scale_up_limit = max(2 * current, current + 4)
        return self.bounds.clamp(min(stabilised, scale_up_limit))


def busy_replicas(telemetry: Telemetry, bounds: ReplicaBounds) -> float:
    """CPU utilisation summed over pods, where a pod's CPU is the share of its servers busy,
    averaged over one metrics resolution (15 s). Pods still starting count as idle, as the HPA
    assumes when scaling up."""
    return telemetry.busy_servers(15.0) / bounds.servers_per_replica


def queue_messages(telemetry: Telemetry, bounds: ReplicaBounds) -> float:
    """KEDA's RabbitMQ scaler in `mode: QueueLength` over the HTTP API (no
    `excludeUnacknowledged`) on the tier's queue: messages ready + unacknowledged = contacts
    waiting for the tier + contacts with it."""
    return float(telemetry.latest.queue_length + telemetry.latest.busy_servers)


def hpa_policy(bounds: ReplicaBounds, target_utilisation: float) -> HorizontalPodAutoscaler:
    """An HPA on CPU with this target utilisation."""
    return HorizontalPodAutoscaler("hpa", bounds, busy_replicas, target_utilisation)


def keda_policy(bounds: ReplicaBounds, messages_per_replica: float) -> HorizontalPodAutoscaler:
    """KEDA with the RabbitMQ queue-length trigger, `value` = `messages_per_replica`: KEDA hands
    the metric to an HPA as an AverageValue external metric, so the HPA's rules apply."""
    return HorizontalPodAutoscaler("keda", bounds, queue_messages, messages_per_replica)


@dataclass
class FixedPolicy:
    """The same number of replicas all day (a fixed staffing plan)."""

    replicas: int
    period_seconds: float = 30.0
    name: str = "fixed"

    def desired_replicas(self, telemetry: Telemetry) -> int:
        return self.replicas


@dataclass
class SlotForecast:
    """The arrival rate to size for until new capacity is ready, for `decide`'s `forecast_rate`,
    the operator's way (`switchboard.sizing.lookahead`).

    Today's arrivals at the tier per completed slot (from its counter, as the operator gets them
    from Prometheus) and the previous days' counts feed the forecast; the rate is the highest
    `quantile` of it over the slots from now to now + `lead_seconds` (the readiness delay).
    """

    history: Sequence[Sequence[float]]
    start: float
    slot_seconds: float
    slots: int
    lead_seconds: float
    quantile: float = 0.9
    _arrived_at_slot_start: dict[int, int] = field(default_factory=dict)
    _cache: dict[range, float | None] = field(default_factory=dict)

    def rate(self, latest: Counters) -> float | None:
        ahead = slots_until_ready(
            latest.time - self.start, self.lead_seconds, self.slot_seconds, self.slots
        )
        if not ahead:
            return None
        self._arrived_at_slot_start.setdefault(ahead.start, latest.offered)
        if ahead not in self._cache:
            forecast = forecast_slots(self.history, self._today(ahead.start), ahead)
            self._cache[ahead] = rate_to_size_for(forecast, self.quantile, self.slot_seconds)
        return self._cache[ahead]

    def _today(self, current: int) -> list[float]:
        """Counts of the completed slots, up to the first one not observed from its start."""
        counts: list[float] = []
        for index in range(current):
            begin = self._arrived_at_slot_start.get(index)
            end = self._arrived_at_slot_start.get(index + 1)
            if begin is None or end is None:
                return counts
            counts.append(float(end - begin))
        return counts


@dataclass
class SwitchboardPolicy:
    """The operator's decision (`switchboard.sizing.decision.decide`), fed as the operator feeds
    it from Prometheus: the arrival rate over `window_seconds` and over each of
    `recent_windows`, the mean handle time over `aht_window_seconds`, the backlog and the contacts
    in the system now, the patience from the spec, and a forecast rate (see `SlotForecast`)."""

    target: ServiceTarget
    limits: ScalingLimits
    patience_seconds: float | None
    forecast: SlotForecast | None
    window_seconds: float = 900.0
    recent_windows: tuple[float, ...] = (60.0, 300.0)
    aht_window_seconds: float = 3600.0
    service_interval_seconds: float = SERVICE_INTERVAL_SECONDS
    period_seconds: float = 30.0
    name: str = "switchboard"
    state: ScalingState = field(default_factory=ScalingState)

    def desired_replicas(self, telemetry: Telemetry) -> int:
        latest = telemetry.latest
        demand = Demand(
            arrival_rate=telemetry.arrival_rate(self.window_seconds),
            aht_seconds=telemetry.mean_handle_time(self.aht_window_seconds),
            patience_seconds=self.patience_seconds,
            backlog=latest.queue_length,
            arrival_window_seconds=self.window_seconds,
            recent_arrival_rates=tuple(
                (seconds, telemetry.arrival_rate(seconds)) for seconds in self.recent_windows
            ),
            in_system=telemetry.in_system(),
            interval=telemetry.interval_progress(self.service_interval_seconds),
        )
        decision = decide(
            now=latest.time,
            current_replicas=math.ceil(latest.requested_servers / self.limits.servers_per_replica),
            demand=demand,
            forecast_rate=self.forecast.rate(latest) if self.forecast else None,
            target=self.target,
            limits=self.limits,
            state=self.state,
        )
        self.state = decision.state
        return decision.replicas


@dataclass
class ErlangAtMeanPolicy:
    """Erlang A sizing of every slot's true mean rate and handle time, asked for one readiness
    delay ahead so it is ready exactly when the slot starts; it scales down the moment a slot
    needs less. Capacity requested now must serve until the next decision has taken effect, so
    it covers the slots up to now + readiness delay + period. It knows the future's means, not
    its noise, so it misses about half of the intervals: a reference, not an oracle."""

    profile: ArrivalProfile
    aht_seconds: float
    patience_seconds: float | None
    target: ServiceTarget
    bounds: ReplicaBounds
    readiness_delay: float
    period_seconds: float = 30.0
    name: str = "erlang-at-mean"
    _servers: dict[int, int] = field(default_factory=dict)

    def desired_replicas(self, telemetry: Telemetry) -> int:
        return self.replicas_at(telemetry.latest.time)

    def replicas_at(self, now: float) -> int:
        first = self.profile.slot_of(now)
        last = self.profile.slot_of(now + self.readiness_delay + self.period_seconds - 1e-6)
        servers = max(self._slot_servers(slot) for slot in range(first, last + 1))
        return self.bounds.clamp(self.bounds.replicas_for(servers))

    def _slot_servers(self, slot: int) -> int:
        if slot not in self._servers:
            try:
                self._servers[slot] = required_servers(
                    self.profile.rates[slot],
                    self.aht_seconds,
                    target=self.target.target,
                    within_seconds=self.target.within_seconds,
                    max_occupancy=self.target.max_occupancy,
                    patience_seconds=self.patience_seconds,
                    max_abandon=self.target.max_abandon,
                ).servers
            except InfeasibleTarget:
                self._servers[slot] = self.bounds.max_replicas * self.bounds.servers_per_replica
        return self._servers[slot]


@dataclass(frozen=True)
class DayPolicy:
    """One kind of policy for each tier, evaluated together every `period_seconds`."""

    name: str
    tiers: Mapping[Workload, CapacityPolicy]

    def __post_init__(self) -> None:
        if len({policy.period_seconds for policy in self.tiers.values()}) != 1:
            raise ValueError("the tiers' policies of a day must share their period")

    @property
    def period_seconds(self) -> float:
        return next(iter(self.tiers.values())).period_seconds


@dataclass(frozen=True)
class TierTraffic:
    """What reaches one tier: its expected rate per slot, the past days' counts of its
    arrivals (the forecast's history), and its mean handle time."""

    profile: ArrivalProfile
    history: tuple[tuple[float, ...], ...]
    aht_seconds: float


def tier_traffic(trace: Trace, contacts: ContactModel, seed: int) -> dict[Workload, TierTraffic]:
    """The bot meets every contact; the agents the escalated share. The agents' past days are
    the trace's past days thinned to that share (binomially, seeded): what the operator reads
    as escalations. Their handoff lags the arrival by the time with the bot, which is short
    against a slot and not shifted here."""
    day, escalation = trace.day, contacts.escalation
    rng = random.Random(f"{seed}/escalations")
    escalated = tuple(
        tuple(float(sum(rng.random() < escalation for _ in range(round(count)))) for count in past)
        for past in trace.history
    )
    return {
        "bot": TierTraffic(day, trace.history, contacts.bot_handle_time.mean),
        "agents": TierTraffic(
            ArrivalProfile(day.start, day.slot_seconds, tuple(r * escalation for r in day.rates)),
            escalated,
            contacts.agent_handle_time.mean,
        ),
    }


POLICIES = ("switchboard", "hpa", "keda", "erlang-at-mean")


@dataclass(frozen=True)
class PolicySettings:
    """The knobs of the policies; the defaults are the ones the benchmark states.

    switchboard and erlang-at-mean decide every `interval_seconds`. switchboard reads the
    arrival rate over `window_seconds` (15 minutes) and over the last 1 and 5 minutes (`decide`
    takes a measured rate over the forecast when it departs beyond Poisson noise), the handle
    time over an hour, sizes for the `forecast_quantile` of the forecast (the spec's
    `forecast.demandQuantile`, 0.5 by default: its mean), and scales down to the highest
    recommendation of `scale_down_window_seconds` (the spec's default, 5 minutes).
    hpa: target utilisation of the servers (0.75: within the usual 0.7-0.8). keda: contacts
    (waiting + in service) per replica, as a multiple of the servers per replica (0.75: without
    a queue it settles at the same utilisation as hpa).
    """

    readiness_delay: float = 60.0
    interval_seconds: float = 30.0
    window_seconds: float = 900.0
    forecast_quantile: float = 0.5
    scale_down_window_seconds: float = 300.0
    hpa_utilisation: float = 0.75
    keda_messages_per_server: float = 0.75


def build_policy(
    name: str,
    traffic: Mapping[Workload, TierTraffic],
    contacts: ContactModel,
    target: ServiceTarget,
    bounds: Mapping[Workload, ReplicaBounds],
    settings: PolicySettings,
) -> DayPolicy:
    """One of `POLICIES` for both tiers, configured for their traffic, contacts and target."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")
    tiers: dict[Workload, CapacityPolicy] = {}
    for workload in WORKLOADS:
        tier, tier_bounds = traffic[workload], bounds[workload]
        if name == "hpa":
            tiers[workload] = hpa_policy(tier_bounds, settings.hpa_utilisation)
        elif name == "keda":
            per_replica = settings.keda_messages_per_server * tier_bounds.servers_per_replica
            tiers[workload] = keda_policy(tier_bounds, per_replica)
        elif name == "erlang-at-mean":
            tiers[workload] = build_erlang_at_mean(tier, contacts, target, tier_bounds, settings)
        else:
            tiers[workload] = _switchboard(tier, contacts, target, tier_bounds, settings)
    return DayPolicy(name, tiers)


def _switchboard(
    tier: TierTraffic,
    contacts: ContactModel,
    target: ServiceTarget,
    bounds: ReplicaBounds,
    settings: PolicySettings,
) -> SwitchboardPolicy:
    day = tier.profile
    forecast = SlotForecast(
        tier.history,
        day.start,
        day.slot_seconds,
        len(day.rates),
        lead_seconds=settings.readiness_delay,
        quantile=settings.forecast_quantile,
    )
    limits = ScalingLimits(
        bounds.min_replicas,
        bounds.max_replicas,
        bounds.servers_per_replica,
        scale_down_window_seconds=settings.scale_down_window_seconds,
        readiness_seconds=settings.readiness_delay,
        interval_seconds=settings.interval_seconds,
    )
    return SwitchboardPolicy(
        target,
        limits,
        _mean_patience(contacts),
        forecast if tier.history else None,
        window_seconds=settings.window_seconds,
        period_seconds=settings.interval_seconds,
    )


def build_erlang_at_mean(
    tier: TierTraffic,
    contacts: ContactModel,
    target: ServiceTarget,
    bounds: ReplicaBounds,
    settings: PolicySettings,
) -> ErlangAtMeanPolicy:
    return ErlangAtMeanPolicy(
        tier.profile,
        tier.aht_seconds,
        _mean_patience(contacts),
        target,
        bounds,
        readiness_delay=settings.readiness_delay,
        period_seconds=settings.interval_seconds,
    )


def _mean_patience(contacts: ContactModel) -> float | None:
    return contacts.patience.mean if contacts.patience is not None else None
