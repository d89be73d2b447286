"""The two queues against queueing theory, the handoff between them, and their capacity rules."""

from __future__ import annotations

import math
import random

import pytest

from switchboard.simulator.contacts import ContactModel, ContactStream, Exponential
from switchboard.simulator.engine import ContactCenterQueue, Visit
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.erlang import performance
from switchboard.sizing.workloads import Workload

HOURS = 3600.0


class Log:
    """Records what the queues tell their observers."""

    def __init__(self) -> None:
        self.offers: list[tuple[Visit, float]] = []
        self.answers: list[Visit] = []
        self.completions: list[tuple[Visit, float]] = []

    def offered(self, visit: Visit) -> None:
        self.offers.append((visit, visit.offered_at))

    def answered(self, visit: Visit, within_target: bool) -> None:
        self.answers.append(visit)

    def abandoned(self, visit: Visit, now: float) -> None:
        pass

    def completed(self, visit: Visit, now: float) -> None:
        self.completions.append((visit, now))

    def answered_at(self, workload: Workload) -> list[Visit]:
        return [visit for visit in self.answers if visit.workload == workload]


def stationary(rate: float, hours: float) -> ArrivalProfile:
    return ArrivalProfile(start=0.0, slot_seconds=hours * HOURS, rates=(rate,))


def bot_only(handle: float, patience: float | None = None) -> ContactModel:
    """Contacts the bot finishes: the bot's tier alone."""
    return ContactModel(
        bot_handle_time=Exponential(handle),
        agent_handle_time=Exponential(1.0),
        bot_containment=1.0,
        patience=Exponential(patience) if patience is not None else None,
    )


def queues(
    profile: ArrivalProfile,
    contacts: ContactModel,
    *,
    seed: int,
    bot: int,
    agents: int = 0,
    delay: float = 0.0,
    log: Log | None = None,
) -> ContactCenterQueue:
    return ContactCenterQueue(
        ContactStream(profile, contacts, seed),
        initial_servers={"bot": bot, "agents": agents},
        readiness_delay=delay,
        observers=[log] if log else [],
    )


def test_textbook_erlang_c_example_at_the_bot() -> None:
    # 100 contacts per 30 minutes, exponential handle times of 180 s, 14 servers: the classic
    # worked example puts P(wait) at 0.174 and the service level within 20 s at 0.888.
    profile = stationary(100 / 1800, hours=500)
    queue = queues(profile, bot_only(180.0), seed=7, bot=14)
    queue.run_until(profile.end)
    counters = queue.counters("bot")
    assert counters.offered > 90_000
    assert counters.answered_within_target / counters.offered == pytest.approx(0.888, abs=0.01)
    assert counters.busy_server_seconds / counters.server_seconds == pytest.approx(
        10 / 14, abs=0.01
    )
    assert queue.counters("agents").offered == 0


@pytest.mark.parametrize(("servers", "patience"), [(12, 120.0), (10, 60.0)])
def test_erlang_a_service_level_and_abandonment(servers: int, patience: float) -> None:
    rate, aht = 100 / 1800, 180.0
    profile = stationary(rate, hours=400)
    queue = queues(profile, bot_only(aht, patience), seed=11, bot=servers)
    queue.run_until(profile.end + 10 * HOURS)
    counters = queue.counters("bot")
    theory = performance(rate, aht, servers, 20.0, patience_seconds=patience)
    assert counters.answered_within_target / counters.offered == pytest.approx(
        theory.service_level, abs=0.015
    )
    assert counters.abandoned / counters.offered == pytest.approx(theory.abandonment, abs=0.006)


def test_the_agents_queue_behind_the_bot_is_erlang_c_of_the_escalations() -> None:
    # Burke's theorem: the departures of a stationary M/M/c queue are Poisson at its arrival
    # rate, so the escalated share reaches the agents as Poisson arrivals at rate x share, and
    # their queue is M/M/c again. 0.1/s, 60% escalated, AHT 150 s: 9 Erlangs at the agents.
    rate, share, aht = 0.1, 0.6, 150.0
    contacts = ContactModel(
        bot_handle_time=Exponential(60.0),
        agent_handle_time=Exponential(aht),
        bot_containment=1 - share,
    )
    profile = stationary(rate, hours=400)
    queue = queues(profile, contacts, seed=5, bot=12, agents=12)
    queue.run_until(profile.end + 10 * HOURS)
    agents = queue.counters("agents")
    assert agents.offered / queue.counters("bot").offered == pytest.approx(share, abs=0.01)
    theory = performance(rate * share, aht, 12, 20.0)
    assert agents.answered_within_target / agents.offered == pytest.approx(
        theory.service_level, abs=0.015
    )


def test_a_contact_reaches_the_agents_when_the_bot_lets_go() -> None:
    log = Log()
    contacts = ContactModel(
        bot_handle_time=Exponential(30.0), agent_handle_time=Exponential(60.0), bot_containment=0.5
    )
    queue = queues(stationary(0.2, hours=1), contacts, seed=3, bot=1, agents=50, log=log)
    queue.run_until(2 * HOURS)
    bot_done = {id(v.contact): now for v, now in log.completions if v.workload == "bot"}
    handed = [(visit, at) for visit, at in log.offers if visit.workload == "agents"]
    assert handed and all(visit.contact.escalates for visit, _ in handed)
    assert all(at == bot_done[id(visit.contact)] for visit, at in handed)
    escalated = sum(v.contact.escalates for v, _ in log.completions if v.workload == "bot")
    assert len(handed) == escalated
    # One bot slot for 0.2/s x 30 s: contacts wait for the bot, and their agent wait starts
    # only at the handoff.
    assert max(v.answered_at - v.offered_at for v in log.answered_at("bot")) > 60  # type: ignore[operator]
    assert all(v.answered_at == v.offered_at for v in log.answered_at("agents"))


def busy_queue(servers: int, delay: float = 0.0, log: Log | None = None) -> ContactCenterQueue:
    """Contacts every few seconds that each take about a day: every bot server stays busy."""
    return queues(
        stationary(0.2, hours=10), bot_only(1e6), seed=3, bot=servers, delay=delay, log=log
    )


def test_added_servers_answer_only_after_the_readiness_delay() -> None:
    log = Log()
    queue = busy_queue(servers=0, delay=90.0, log=log)
    queue.run_until(600.0)
    queue.set_servers("bot", 5)
    assert (queue.ready_servers("bot"), queue.requested_servers("bot")) == (0, 5)
    queue.run_until(689.0)
    assert log.answers == []
    queue.run_until(690.0)
    assert len(log.answers) == 5
    assert all(visit.answered_at == 690.0 for visit in log.answers)
    assert queue.ready_servers("bot") == 5


def test_removing_servers_lets_busy_ones_finish() -> None:
    log = Log()
    queue = queues(stationary(1.0, hours=1), bot_only(100.0), seed=5, bot=20, log=log)
    queue.run_until(300.0)
    busy_before = queue.counters("bot").busy_servers
    assert busy_before == 20
    queue.set_servers("bot", 5)
    assert queue.counters("bot").busy_servers == busy_before  # nobody dropped
    assert queue.ready_servers("bot") == 5
    queue.run_until(2 * HOURS)
    # Every answered contact was handled for exactly its handle time, and the pool shrank.
    assert all(
        done == pytest.approx(visit.answered_at + visit.handle_time)  # type: ignore[operator]
        for visit, done in log.completions
    )
    assert len(log.completions) == len(log.answers) - queue.counters("bot").busy_servers
    assert queue.counters("bot").server_seconds < 25 * 300 + 5 * 2 * HOURS


def test_a_decrease_cancels_servers_still_starting_first() -> None:
    queue = busy_queue(servers=4, delay=60.0)
    queue.run_until(100.0)
    queue.set_servers("bot", 10)
    queue.set_servers("bot", 6)
    assert (queue.ready_servers("bot"), queue.requested_servers("bot")) == (4, 6)
    queue.run_until(200.0)
    assert queue.ready_servers("bot") == 6


def test_scaling_up_again_does_not_revive_draining_servers() -> None:
    queue = busy_queue(servers=10, delay=60.0)
    queue.run_until(100.0)
    queue.set_servers("bot", 4)
    queue.set_servers("bot", 8)
    assert (queue.ready_servers("bot"), queue.requested_servers("bot")) == (4, 8)


def test_contacts_do_not_depend_on_capacity() -> None:
    contacts = ContactModel(
        bot_handle_time=Exponential(20.0),
        agent_handle_time=Exponential(60.0),
        bot_containment=0.3,
        patience=Exponential(30.0),
    )

    def handled(servers: int) -> list[tuple[float, float]]:
        log = Log()
        queue = queues(
            stationary(0.5, hours=1), contacts, seed=42, bot=servers, agents=servers, log=log
        )
        queue.run_until(2 * HOURS)
        return sorted((v.contact.arrival_time, v.handle_time) for v in log.answers)

    few, many = handled(15), handled(60)
    assert set(few) <= set(many)
    assert len(many) > len(few)


def test_no_patience_means_nobody_abandons() -> None:
    contacts = ContactModel(bot_handle_time=Exponential(30.0), agent_handle_time=Exponential(60.0))
    queue = queues(stationary(1.0, hours=1), contacts, seed=1, bot=40, agents=80)
    queue.run_until(3 * HOURS)
    for workload in ("bot", "agents"):
        counters = queue.counters(workload)
        assert counters.abandoned == 0
        assert counters.answered == counters.offered
    assert math.isinf(contacts.draw(random.Random(0), 0.0).agent_patience)


def test_a_fork_meets_the_same_contacts_and_leaves_the_original_alone() -> None:
    contacts = ContactModel(
        bot_handle_time=Exponential(20.0),
        agent_handle_time=Exponential(60.0),
        bot_containment=0.3,
        patience=Exponential(30.0),
    )
    original = queues(stationary(0.5, hours=2), contacts, seed=8, bot=12, agents=20)
    original.run_until(1800.0)
    same, other = original.fork(), original.fork()
    other.set_servers("agents", 5)
    for queue in (original, same, other):
        queue.run_until(2 * HOURS)
    assert original.counters("agents") == same.counters("agents")
    assert other.counters("agents").offered == original.counters("agents").offered
    assert other.counters("agents").abandoned > original.counters("agents").abandoned
