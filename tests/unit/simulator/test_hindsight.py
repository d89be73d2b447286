"""The hindsight oracle: every interval meets the target, with the fewest replicas that do."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from switchboard.simulator.contacts import ContactModel, ContactStream, Exponential
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.hindsight import hindsight_day
from switchboard.simulator.offline import DaySettings, day_contacts
from switchboard.simulator.policies import ReplicaBounds
from switchboard.simulator.report import IntervalRecorder
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.decision import ServiceTarget
from switchboard.sizing.erlang import required_servers
from switchboard.sizing.workloads import WORKLOADS, Workload

TARGET = ServiceTarget(0.8, 20.0, max_abandon=0.05)
CONTACTS = ContactModel(
    bot_handle_time=Exponential(40.0),
    agent_handle_time=Exponential(200.0),
    bot_containment=0.3,
    patience=Exponential(120.0),
)
# A quiet hour, a busy hour, a quiet hour.
PROFILE = ArrivalProfile(9 * 3600.0, 900.0, (0.1,) * 4 + (0.3,) * 4 + (0.1,) * 4)
BOUNDS: dict[Workload, ReplicaBounds] = {
    "bot": ReplicaBounds(1, 100, 2),
    "agents": ReplicaBounds(1, 100, 1),
}
SETTINGS = DaySettings(BOUNDS, initial_replicas={"bot": 1, "agents": 1})


def replay(
    contacts: ContactStream,
    schedule: dict[Workload, list[int]],
    changed: tuple[Workload, int, int] | None = None,
) -> IntervalRecorder:
    """The day with the replicas of `schedule` at each interval's start (the warm-up's two
    intervals first); `changed`: from that tier's interval on, this many replicas instead,
    until that interval's contacts are served. What each interval got, per tier."""
    recorder = IntervalRecorder(contacts.profile.start, 900.0, len(schedule["bot"]))
    queue = ContactCenterQueue(contacts, initial_servers={}, observers=[recorder])
    for index in range(len(schedule["bot"])):
        queue.run_until(contacts.profile.start + index * 900.0)
        for workload, replicas in schedule.items():
            count = replicas[index]
            if changed is not None and changed[0] == workload and index >= changed[1]:
                count = changed[2]
            queue.set_servers(workload, count * BOUNDS[workload].servers_per_replica)
        if changed is not None and index == changed[1]:
            queue.run_until(queue.now + 900.0 + 3600.0)
            return recorder
    queue.run_until(queue.now + 6 * 3600.0)
    return recorder


def meets(recorder: IntervalRecorder, workload: Workload, index: int) -> bool:
    stats = recorder.stats(workload, index)
    if not stats.offered:
        return True
    assert stats.service_level is not None and stats.abandon_rate is not None
    return stats.service_level >= 0.8 and stats.abandon_rate <= 0.05


@pytest.fixture(scope="module")
def day() -> tuple[ContactStream, dict[Workload, list[int]]]:
    contacts = day_contacts(PROFILE, CONTACTS, seed=4)
    guesses: dict[Workload, Callable[[float], int]] = {
        "bot": lambda now: 1,
        "agents": lambda now: 30,
    }
    report = hindsight_day(PROFILE, contacts, TARGET, SETTINGS, guesses)
    assert report.policy == "hindsight"
    schedule: dict[Workload, list[int]] = {}
    for workload in WORKLOADS:
        tier = report.tiers[workload]
        replicas = [servers // BOUNDS[workload].servers_per_replica for _, servers in tier.capacity]
        assert len(replicas) == 12
        schedule[workload] = replicas
    return contacts, schedule


def test_every_interval_meets_the_target_and_the_cap(
    day: tuple[ContactStream, dict[Workload, list[int]]],
) -> None:
    contacts, schedule = day
    # The reported intervals, replayed from the day's start with the warm-up at the
    # hindsight's first replicas, are what the report said: all met.
    report = hindsight_day(
        PROFILE,
        contacts,
        TARGET,
        SETTINGS,
        {"bot": lambda now: 5, "agents": lambda now: 5},
    )
    assert report.sla_intervals_met == 1.0
    for workload in WORKLOADS:
        tier = report.tiers[workload]
        assert [s // BOUNDS[workload].servers_per_replica for _, s in tier.capacity] == (
            schedule[workload]
        ), "the guess only speeds the search up"
        assert all(i.abandon_rate is None or i.abandon_rate <= 0.05 for i in tier.intervals)
    busy = schedule["agents"][5]
    assert busy > 2 * schedule["agents"][0], "the busy hour needs more"


def test_one_replica_fewer_misses(day: tuple[ContactStream, dict[Workload, list[int]]]) -> None:
    contacts, schedule = day
    warm_up = {w: [r[0]] * 2 + r for w, r in schedule.items()}
    whole = replay(contacts, warm_up)
    for index in range(2, 14):
        for workload in WORKLOADS:
            assert meets(whole, workload, index)
    for workload, index in (("agents", 3), ("agents", 7), ("agents", 11), ("bot", 6)):
        fewer = warm_up[workload][index] - 1
        if fewer < BOUNDS[workload].min_replicas:
            continue
        short = replay(contacts, warm_up, (workload, index, fewer))
        assert not (meets(short, workload, index) and meets(short, workload, index - 1)), (
            f"{workload} at interval {index} passes with {fewer} replicas"
        )


def test_on_steady_traffic_it_staffs_about_what_erlang_c_needs() -> None:
    """Stationary Poisson arrivals, exponential handle times, nobody leaves: the fewest servers
    meeting 80/20 per 15 minutes scatter around Erlang C's long-run answer."""
    rate, aht = 0.5, 120.0
    contacts = ContactModel(
        bot_handle_time=Exponential(aht), agent_handle_time=Exponential(1.0), bot_containment=1.0
    )
    steady = ArrivalProfile(9 * 3600.0, 900.0, (rate,) * 16)
    bounds: dict[Workload, ReplicaBounds] = {
        "bot": ReplicaBounds(1, 500, 1),
        "agents": ReplicaBounds(0, 500, 1),
    }
    settings = DaySettings(bounds, initial_replicas={"bot": 60, "agents": 0})
    report = hindsight_day(
        steady,
        day_contacts(steady, contacts, seed=9),
        ServiceTarget(0.8, 20.0),
        settings,
        {"bot": lambda now: 60, "agents": lambda now: 0},
    )
    erlang = required_servers(rate, aht, target=0.8, within_seconds=20.0).servers
    servers = [s for _, s in report.tiers["bot"].capacity]
    assert sum(servers) / len(servers) == pytest.approx(erlang, abs=2.5)
    assert min(servers) < erlang < max(servers)
