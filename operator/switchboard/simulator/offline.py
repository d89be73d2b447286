"""A simulated day whose capacity follows a policy, evaluated every policy period."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from switchboard.simulator.contacts import ContactModel
from switchboard.simulator.engine import ContactCenterQueue, Counters
from switchboard.simulator.policies import CapacityPolicy, ReplicaBounds, Telemetry
from switchboard.simulator.report import DayReport, IntervalRecorder
from switchboard.simulator.traffic import ArrivalProfile

REPORT_INTERVAL_SECONDS = 900.0
WARM_UP_SECONDS = 1800.0  # simulated before the day at its opening rate, and not reported
TELEMETRY_SECONDS = 3600.0  # how far back policies may look
DRAIN_LIMIT_SECONDS = 6 * 3600.0  # after closing, stop waiting for the queue to empty


@dataclass(frozen=True)
class DaySettings:
    """What every policy of a comparison shares."""

    bounds: ReplicaBounds
    initial_replicas: int
    readiness_delay: float = 60.0
    target_service_level: float = 0.8
    within_seconds: float = 20.0
    report_interval: float = REPORT_INTERVAL_SECONDS


def simulate_day(
    profile: ArrivalProfile,
    contacts: ContactModel,
    policy: CapacityPolicy,
    settings: DaySettings,
    *,
    seed: int,
) -> DayReport:
    """Run the day and then until the queue is empty; capacity is counted while open.

    A queue that starts empty would mislead every policy (no load, no busy servers), so the day is
    preceded by a warm-up at its opening rate, under the policy's control but outside the report.
    """
    bounds = settings.bounds
    intervals = math.ceil((profile.end - profile.start) / settings.report_interval - 1e-9)
    recorder = IntervalRecorder(profile.start, settings.report_interval, intervals)
    warm_up_slots = math.ceil(WARM_UP_SECONDS / profile.slot_seconds)
    queue = ContactCenterQueue(
        ArrivalProfile(
            profile.start - warm_up_slots * profile.slot_seconds,
            profile.slot_seconds,
            (profile.rates[0],) * warm_up_slots + profile.rates,
        ),
        contacts,
        seed=seed,
        initial_servers=settings.initial_replicas * bounds.servers_per_replica,
        readiness_delay=settings.readiness_delay,
        within_seconds=settings.within_seconds,
        observers=[recorder],
    )
    boundaries = [profile.start + i * settings.report_interval for i in range(intervals)]
    boundaries.append(profile.end)
    server_seconds_at_boundaries: list[float] = []
    snapshots: deque[Counters] = deque(maxlen=int(TELEMETRY_SECONDS / policy.period_seconds) + 2)
    capacity: list[tuple[float, int]] = []
    step = -math.floor(warm_up_slots * profile.slot_seconds / policy.period_seconds)
    while True:
        now = profile.start + step * policy.period_seconds
        while boundaries and boundaries[0] <= now:
            queue.run_until(boundaries.pop(0))
            server_seconds_at_boundaries.append(queue.counters().server_seconds)
        if now >= profile.end and (
            queue.contacts_in_system == 0 or now > profile.end + DRAIN_LIMIT_SECONDS
        ):
            break
        queue.run_until(now)
        snapshots.append(queue.counters())
        replicas = policy.desired_replicas(Telemetry(snapshots))
        queue.set_servers(replicas * bounds.servers_per_replica)
        if now >= profile.start:
            capacity.append((now, queue.ready_servers))
        step += 1
    return DayReport(
        policy=policy.name,
        target_service_level=settings.target_service_level,
        within_seconds=settings.within_seconds,
        servers_per_replica=bounds.servers_per_replica,
        intervals=tuple(recorder.intervals(server_seconds_at_boundaries)),
        capacity=tuple(capacity),
    )
