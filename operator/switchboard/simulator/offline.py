"""A simulated day whose capacity follows a policy per tier, evaluated every policy period."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from switchboard.simulator.contacts import ContactModel, ContactStream
from switchboard.simulator.engine import ContactCenterQueue, Counters
from switchboard.simulator.policies import DayPolicy, ReplicaBounds, Telemetry
from switchboard.simulator.report import DayReport, IntervalRecorder, TierReport
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.workloads import WORKLOADS, Workload

REPORT_INTERVAL_SECONDS = 900.0
WARM_UP_SECONDS = 1800.0  # simulated before the day at its opening rate, and not reported
TELEMETRY_SECONDS = 3600.0  # how far back policies may look
DRAIN_LIMIT_SECONDS = 6 * 3600.0  # after closing, stop waiting for the queues to empty


@dataclass(frozen=True)
class DaySettings:
    """What every policy of a comparison shares."""

    bounds: Mapping[Workload, ReplicaBounds]
    initial_replicas: Mapping[Workload, int]
    readiness_delay: float = 60.0
    target_service_level: float = 0.8
    within_seconds: float = 20.0
    report_interval: float = REPORT_INTERVAL_SECONDS


def with_warm_up(profile: ArrivalProfile) -> ArrivalProfile:
    """The day preceded by `WARM_UP_SECONDS` at its opening rate.

    A queue that starts empty would mislead every policy (no load, no busy servers), so the
    day is preceded by a warm-up, under the policy's control but outside the report."""
    slots = math.ceil(WARM_UP_SECONDS / profile.slot_seconds)
    return ArrivalProfile(
        profile.start - slots * profile.slot_seconds,
        profile.slot_seconds,
        (profile.rates[0],) * slots + profile.rates,
    )


def day_contacts(profile: ArrivalProfile, contacts: ContactModel, seed: int) -> ContactStream:
    """The contacts of the day and its warm-up: the same for every policy with this seed."""
    return ContactStream(with_warm_up(profile), contacts, seed)


def report_intervals(profile: ArrivalProfile, settings: DaySettings) -> int:
    return math.ceil((profile.end - profile.start) / settings.report_interval - 1e-9)


def simulate_day(
    profile: ArrivalProfile, contacts: ContactStream, policy: DayPolicy, settings: DaySettings
) -> DayReport:
    """Run the day (after its warm-up, see `with_warm_up`) and then until the queues are empty;
    capacity is counted while open. `contacts` come from `day_contacts`."""
    recorder = IntervalRecorder(
        profile.start, settings.report_interval, report_intervals(profile, settings)
    )
    queue = ContactCenterQueue(
        contacts,
        initial_servers={
            w: settings.initial_replicas[w] * settings.bounds[w].servers_per_replica
            for w in WORKLOADS
        },
        readiness_delay=settings.readiness_delay,
        within_seconds=settings.within_seconds,
        observers=[recorder],
    )
    boundaries = [profile.start + i * settings.report_interval for i in range(recorder.count)]
    boundaries.append(profile.end)
    at_boundaries: dict[Workload, list[float]] = {w: [] for w in WORKLOADS}
    depth = int(TELEMETRY_SECONDS / policy.period_seconds) + 2
    snapshots: dict[Workload, deque[Counters]] = {w: deque(maxlen=depth) for w in WORKLOADS}
    capacity: dict[Workload, list[tuple[float, int]]] = {w: [] for w in WORKLOADS}
    step = math.ceil((queue.now - profile.start) / policy.period_seconds)
    while True:
        now = profile.start + step * policy.period_seconds
        while boundaries and boundaries[0] <= now:
            queue.run_until(boundaries.pop(0))
            for workload in WORKLOADS:
                at_boundaries[workload].append(queue.counters(workload).server_seconds)
        if now >= profile.end and (
            queue.contacts_in_system == 0 or now > profile.end + DRAIN_LIMIT_SECONDS
        ):
            break
        queue.run_until(now)
        for workload, tier in policy.tiers.items():
            snapshots[workload].append(queue.counters(workload))
            replicas = tier.desired_replicas(Telemetry(snapshots[workload]))
            queue.set_servers(workload, replicas * settings.bounds[workload].servers_per_replica)
            if now >= profile.start:
                capacity[workload].append((now, queue.ready_servers(workload)))
        step += 1
    return DayReport(
        policy=policy.name,
        target_service_level=settings.target_service_level,
        within_seconds=settings.within_seconds,
        tiers={
            w: TierReport(
                servers_per_replica=settings.bounds[w].servers_per_replica,
                intervals=tuple(recorder.intervals(w, at_boundaries[w])),
                capacity=tuple(capacity[w]),
            )
            for w in WORKLOADS
        },
    )
