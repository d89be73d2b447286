"""The queue against queueing theory, and its capacity rules."""

from __future__ import annotations

import math
import random

import pytest

from switchboard.simulator.contacts import Contact, ContactModel, Exponential
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.erlang import performance

HOURS = 3600.0


class Log:
    """Records what the queue tells its observers."""

    def __init__(self) -> None:
        self.answers: list[Contact] = []
        self.completions: list[tuple[Contact, float]] = []
        self.queue: ContactCenterQueue | None = None

    def arrived(self, contact: Contact) -> None:
        pass

    def answered(self, contact: Contact, within_target: bool) -> None:
        self.answers.append(contact)

    def abandoned(self, contact: Contact, now: float) -> None:
        pass

    def completed(self, contact: Contact) -> None:
        assert self.queue is not None
        self.completions.append((contact, self.queue.now))


def stationary(rate: float, hours: float) -> ArrivalProfile:
    return ArrivalProfile(start=0.0, slot_seconds=hours * HOURS, rates=(rate,))


def test_textbook_erlang_c_example() -> None:
    # 100 contacts per 30 minutes, exponential handle times of 180 s, 14 agents: the classic
    # worked example puts P(wait) at 0.174 and the service level within 20 s at 0.888.
    profile = stationary(100 / 1800, hours=500)
    queue = ContactCenterQueue(
        profile, ContactModel(Exponential(180.0)), seed=7, initial_servers=14
    )
    queue.run_until(profile.end)
    counters = queue.counters()
    assert counters.arrived > 90_000
    assert counters.answered_within_target / counters.arrived == pytest.approx(0.888, abs=0.01)
    assert counters.busy_server_seconds / counters.server_seconds == pytest.approx(
        10 / 14, abs=0.01
    )


@pytest.mark.parametrize(("servers", "patience"), [(12, 120.0), (10, 60.0)])
def test_erlang_a_service_level_and_abandonment(servers: int, patience: float) -> None:
    rate, aht = 100 / 1800, 180.0
    profile = stationary(rate, hours=400)
    contacts = ContactModel(Exponential(aht), patience=Exponential(patience))
    queue = ContactCenterQueue(profile, contacts, seed=11, initial_servers=servers)
    queue.run_until(profile.end + 10 * HOURS)
    counters = queue.counters()
    theory = performance(rate, aht, servers, 20.0, patience_seconds=patience)
    assert counters.answered_within_target / counters.arrived == pytest.approx(
        theory.service_level, abs=0.015
    )
    assert counters.abandoned / counters.arrived == pytest.approx(theory.abandonment, abs=0.006)


def busy_queue(servers: int, delay: float = 0.0, log: Log | None = None) -> ContactCenterQueue:
    """Contacts every few seconds that each take about a day: every server stays busy."""
    queue = ContactCenterQueue(
        stationary(0.2, hours=10),
        ContactModel(Exponential(1e6)),
        seed=3,
        initial_servers=servers,
        readiness_delay=delay,
        observers=[log] if log else [],
    )
    if log:
        log.queue = queue
    return queue


def test_added_servers_answer_only_after_the_readiness_delay() -> None:
    log = Log()
    queue = busy_queue(servers=0, delay=90.0, log=log)
    queue.run_until(600.0)
    queue.set_servers(5)
    assert (queue.ready_servers, queue.requested_servers) == (0, 5)
    queue.run_until(689.0)
    assert log.answers == []
    queue.run_until(690.0)
    assert len(log.answers) == 5
    assert all(contact.answer_time == 690.0 for contact in log.answers)
    assert queue.ready_servers == 5


def test_removing_servers_lets_busy_ones_finish() -> None:
    log = Log()
    queue = ContactCenterQueue(
        stationary(1.0, hours=1),
        ContactModel(Exponential(100.0)),
        seed=5,
        initial_servers=20,
        observers=[log],
    )
    log.queue = queue
    queue.run_until(300.0)
    busy_before = queue.counters().busy_servers
    assert busy_before == 20
    queue.set_servers(5)
    assert queue.counters().busy_servers == busy_before  # nobody dropped
    assert queue.ready_servers == 5
    queue.run_until(2 * HOURS)
    # Every answered contact was handled for exactly its handle time, and the pool shrank.
    assert all(
        done == pytest.approx(contact.answer_time + contact.handle_time)
        for contact, done in log.completions
        if contact.answer_time is not None
    )
    assert len(log.completions) == len(log.answers) - queue.counters().busy_servers
    assert queue.counters().server_seconds < 25 * 300 + 5 * 2 * HOURS


def test_a_decrease_cancels_servers_still_starting_first() -> None:
    queue = busy_queue(servers=4, delay=60.0)
    queue.run_until(100.0)
    queue.set_servers(10)
    queue.set_servers(6)
    assert (queue.ready_servers, queue.requested_servers) == (4, 6)
    queue.run_until(200.0)
    assert queue.ready_servers == 6


def test_scaling_up_again_does_not_revive_draining_servers() -> None:
    queue = busy_queue(servers=10, delay=60.0)
    queue.run_until(100.0)
    queue.set_servers(4)
    queue.set_servers(8)
    assert (queue.ready_servers, queue.requested_servers) == (4, 8)


def test_contacts_do_not_depend_on_capacity() -> None:
    def handled(servers: int) -> list[tuple[float, float]]:
        log = Log()
        queue = ContactCenterQueue(
            stationary(0.5, hours=1),
            ContactModel(Exponential(60.0), patience=Exponential(30.0)),
            seed=42,
            initial_servers=servers,
            observers=[log],
        )
        log.queue = queue
        queue.run_until(2 * HOURS)
        return sorted((c.arrival_time, c.handle_time) for c in log.answers)

    few, many = handled(20), handled(60)
    assert set(few) <= set(many)
    assert len(many) > len(few)


def test_no_patience_means_nobody_abandons() -> None:
    contacts = ContactModel(Exponential(60.0))
    queue = ContactCenterQueue(stationary(1.0, hours=1), contacts, seed=1, initial_servers=30)
    queue.run_until(3 * HOURS)
    counters = queue.counters()
    assert counters.abandoned == 0
    assert counters.answered == counters.arrived
    assert math.isinf(contacts.draw(random.Random(0), 0.0).patience)
