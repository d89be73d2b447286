"""Each policy moves capacity in the right direction, for the reasons it claims."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.api.common import ScaleDown
from switchboard.api.types import duration_seconds
from switchboard.simulator.contacts import ContactModel, Exponential
from switchboard.simulator.engine import Counters
from switchboard.simulator.policies import (
    CapacityPolicy,
    PolicySettings,
    ReplicaBounds,
    SlotForecast,
    SwitchboardPolicy,
    Telemetry,
    TierTraffic,
    build_erlang_at_mean,
    build_policy,
    hpa_policy,
    keda_policy,
    tier_traffic,
)
from switchboard.simulator.traffic import ArrivalProfile, Trace
from switchboard.sizing.decision import ServiceTarget
from switchboard.sizing.workloads import Workload

BOUNDS = ReplicaBounds(min_replicas=1, max_replicas=500)
TARGET = ServiceTarget(0.8, 20.0, max_abandon=0.05)
CONTACTS = ContactModel(
    bot_handle_time=Exponential(200.0),
    agent_handle_time=Exponential(200.0),
    patience=Exponential(120.0),
)

IDLE = Counters(
    time=0.0,
    offered=0,
    answered=0,
    answered_within_target=0,
    abandoned=0,
    completed=0,
    handle_time_sum=0.0,
    server_seconds=0.0,
    busy_server_seconds=0.0,
    ready_servers=20,
    requested_servers=20,
    busy_servers=0,
    queue_length=0,
)


def steady(
    seconds: float,
    step: float,
    rate: float,
    busy: int,
    servers: int = 20,
    queue: int = 0,
    start: Counters = IDLE,
) -> list[Counters]:
    """Snapshots of a queue with constant arrivals, busy servers and queue over `seconds`."""
    snapshots = [start]
    while snapshots[-1].time < start.time + seconds:
        last = snapshots[-1]
        contacts = round(rate * (last.time + step - start.time))  # since `start`
        snapshots.append(
            replace(
                last,
                time=last.time + step,
                offered=start.offered + contacts,
                completed=start.completed + contacts,
                handle_time_sum=start.handle_time_sum + contacts * 200.0,
                server_seconds=last.server_seconds + servers * step,
                busy_server_seconds=last.busy_server_seconds + busy * step,
                ready_servers=servers,
                requested_servers=servers,
                busy_servers=busy,
                queue_length=queue,
            )
        )
    return snapshots


def test_telemetry_measures_windows_between_snapshots() -> None:
    telemetry = Telemetry(steady(600, 15, rate=0.5, busy=10))
    assert telemetry.arrival_rate(300) == pytest.approx(0.5, rel=0.05)
    assert telemetry.mean_handle_time(300) == pytest.approx(200.0)
    assert telemetry.busy_servers(60) == pytest.approx(10.0)
    assert Telemetry([IDLE]).arrival_rate(300) is None


def test_telemetry_counts_the_interval_under_way_from_its_clock_aligned_start() -> None:
    # 0.5/s from 0 to 1200 s, all answered within the objective before 1000 s; after it, one
    # in five abandons.
    snapshots = [
        replace(
            s,
            answered_within_target=min(s.offered, 500),
            abandoned=max(0, s.offered - 500) // 5,
        )
        for s in steady(1200, 30, rate=0.5, busy=10)
    ]
    progress = Telemetry(snapshots).interval_progress(900)
    assert progress is not None
    # The interval began at 900 s: 150 offered since, 50 of them (to 1000 s) answered in time,
    # 20 of the 100 after abandoned.
    assert (progress.length_seconds, progress.elapsed_seconds) == (900, 300)
    assert (progress.offered, progress.answered_within, progress.abandoned) == (150, 50, 20)
    assert Telemetry(snapshots[:31]).interval_progress(900) is None  # at 900 s: just begun


def test_hpa_scales_up_on_high_utilisation_and_down_only_after_stabilisation() -> None:
    hpa = hpa_policy(BOUNDS, target_utilisation=0.75)
    snapshots = steady(60, 15, rate=0.5, busy=20)
    assert hpa.desired_replicas(Telemetry(snapshots)) == 27  # ceil(20 / 0.75)
    quiet = snapshots + steady(240, 15, rate=0.1, busy=5, servers=27, start=snapshots[-1])[1:]
    assert hpa.desired_replicas(Telemetry(quiet)) == 27  # within 300 s of the high one
    later = quiet + steady(120, 15, rate=0.1, busy=5, servers=27, start=quiet[-1])[1:]
    assert hpa.desired_replicas(Telemetry(later)) == 7  # ceil(5 / 0.75)


def test_hpa_ignores_changes_within_its_tolerance() -> None:
    hpa = hpa_policy(BOUNDS, target_utilisation=0.75)
    assert hpa.desired_replicas(Telemetry(steady(60, 15, rate=0.5, busy=16))) == 20


def test_keda_counts_waiting_and_handled_contacts() -> None:
    keda = keda_policy(BOUNDS, messages_per_replica=0.75)
    no_queue = Telemetry(steady(60, 15, rate=0.5, busy=20, queue=0))
    with_queue = Telemetry(steady(60, 15, rate=0.5, busy=20, queue=30))
    assert keda.desired_replicas(no_queue) == 27  # ceil(20 / 0.75)
    # ceil(50 / 0.75) = 67, but the HPA adds at most max(100%, 4 pods) per sync
    assert keda_policy(BOUNDS, 0.75).desired_replicas(with_queue) == 40


def bot_policy(trace: Trace) -> CapacityPolicy:
    """The bot tier's switchboard policy for this trace."""
    traffic = tier_traffic(trace, CONTACTS, seed=1)
    bounds: dict[Workload, ReplicaBounds] = {"bot": BOUNDS, "agents": BOUNDS}
    policy = build_policy("switchboard", traffic, CONTACTS, TARGET, bounds, PolicySettings())
    return policy.tiers["bot"]


def test_switchboard_scales_with_arrivals() -> None:
    trace = Trace(ArrivalProfile(0.0, 300.0, (0.5,) * 12), ())

    def replicas(rate: float) -> int:
        busy = round(rate * 200)
        return bot_policy(trace).desired_replicas(
            Telemetry(steady(600, 30, rate, busy, servers=busy + 5))
        )

    low, high = replicas(0.2), replicas(1.0)
    assert high > 4 * low


def test_switchboard_sizes_ahead_with_the_forecast() -> None:
    ramp = (0.2,) * 6 + (1.0,) * 6
    history = tuple(tuple(rate * 300 for rate in ramp) for _ in range(10))
    trace = Trace(ArrivalProfile(0.0, 300.0, ramp), history)
    # 30 s before the ramp, one readiness delay (60 s) ahead is already in the busy slot.
    before_ramp = steady(1770, 30, rate=0.2, busy=40, servers=45)
    assert bot_policy(replace(trace, history=())).desired_replicas(Telemetry(before_ramp)) < 60
    assert bot_policy(trace).desired_replicas(Telemetry(before_ramp)) > 150


def test_slot_forecast_waits_for_history() -> None:
    forecast = SlotForecast((), 0.0, 300.0, 12, lead_seconds=60.0)
    assert forecast.rate(IDLE) is None


def test_the_agents_meet_the_escalated_share_of_the_traffic() -> None:
    contacts = replace(CONTACTS, bot_containment=0.25)
    history = tuple((400.0, 800.0) for _ in range(30))
    trace = Trace(ArrivalProfile(0.0, 300.0, (1.0, 2.0)), history)
    traffic = tier_traffic(trace, contacts, seed=3)
    bot, agents = traffic["bot"], traffic["agents"]
    assert bot.profile == trace.day and bot.history == history
    assert agents.profile.rates == pytest.approx((0.75, 1.5))
    # Binomial thinning: mean n p, standard deviation sqrt(n p (1 - p)), about 8.7 and 12.2.
    first = [day[0] for day in agents.history]
    second = [day[1] for day in agents.history]
    assert sum(first) / len(first) == pytest.approx(300, abs=4 * 8.7 / 30**0.5)
    assert sum(second) / len(second) == pytest.approx(600, abs=4 * 12.2 / 30**0.5)
    assert len(set(first)) > 5  # drawn, not the expected value


def test_erlang_at_mean_has_capacity_ready_when_the_slot_starts() -> None:
    tier = TierTraffic(ArrivalProfile(0.0, 600.0, (0.1, 1.0)), (), 200.0)
    policy = build_erlang_at_mean(
        tier, CONTACTS, TARGET, BOUNDS, PolicySettings(readiness_delay=60.0)
    )
    quiet, busy = policy.replicas_at(0.0), policy.replicas_at(600.0)
    assert busy > 5 * quiet
    assert policy.replicas_at(600.0 - 60.0 - 30.0) == quiet  # the request after this is in time
    assert policy.replicas_at(600.0 - 60.0) == busy


def test_switchboard_scales_down_as_the_spec_says_by_default() -> None:
    """The twin decides as the operator does: the spec's default scale-down window, unless a
    setting says otherwise."""
    default = duration_seconds(ScaleDown().stabilization_window)
    assert PolicySettings().scale_down_window_seconds == default
    trace = Trace(ArrivalProfile(0.0, 300.0, (0.5,) * 12), ())
    traffic = tier_traffic(trace, CONTACTS, seed=1)
    bounds: dict[Workload, ReplicaBounds] = {"bot": BOUNDS, "agents": BOUNDS}
    shorter = replace(PolicySettings(), scale_down_window_seconds=60.0)
    policy = build_policy("switchboard", traffic, CONTACTS, TARGET, bounds, shorter)
    for tier in policy.tiers.values():
        assert isinstance(tier, SwitchboardPolicy)
        assert tier.limits.scale_down_window_seconds == 60.0
