"""One simulated day under a named policy, or the hindsight oracle, or a fixed capacity: what
`switchboard simulate` and the benchmark run."""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.simulator.contacts import ContactModel, ContactStream
from switchboard.simulator.hindsight import hindsight_day
from switchboard.simulator.offline import DaySettings, simulate_day
from switchboard.simulator.policies import (
    DayPolicy,
    PolicySettings,
    ReplicaBounds,
    TierTraffic,
    build_erlang_at_mean,
    build_policy,
)
from switchboard.simulator.report import DayReport
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.decision import ServiceTarget
from switchboard.sizing.workloads import WORKLOADS, Workload

HINDSIGHT = "hindsight"


def simulate(
    policy: str | DayPolicy,
    day: ArrivalProfile,
    contacts: ContactStream,
    traffic: Mapping[Workload, TierTraffic],
    model: ContactModel,
    target: ServiceTarget,
    bounds: Mapping[Workload, ReplicaBounds],
    settings: PolicySettings,
) -> DayReport:
    """The day under one of `policies.POLICIES` by name, `HINDSIGHT`, or a policy of its own
    (a fixed capacity); every one starts with the capacity erlang-at-mean gives the first
    slot. `contacts` come from `offline.day_contacts` and may be shared by the runs of a
    comparison."""
    opening = {
        w: build_erlang_at_mean(traffic[w], model, target, bounds[w], settings) for w in WORKLOADS
    }
    day_settings = DaySettings(
        bounds=bounds,
        initial_replicas={w: opening[w].replicas_at(day.start) for w in WORKLOADS},
        readiness_delay=settings.readiness_delay,
        target_service_level=target.target,
        within_seconds=target.within_seconds,
    )
    if policy == HINDSIGHT:
        guesses = {w: opening[w].replicas_at for w in WORKLOADS}
        return hindsight_day(day, contacts, target, day_settings, guesses)
    if isinstance(policy, str):
        policy = build_policy(policy, traffic, model, target, bounds, settings)
    return simulate_day(day, contacts, policy, day_settings)
