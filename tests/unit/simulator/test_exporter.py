"""Live mode's exporter: the metrics contract over HTTP, scraped for real."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from switchboard.simulator.capacity import CapacityUnavailable, FixedCapacity
from switchboard.simulator.contacts import Contact, ContactModel, Exponential
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.exporter import ExportLabels, MetricsExporter
from switchboard.simulator.live import run_live
from switchboard.simulator.traffic import ArrivalProfile

LABELS = ExportLabels(contact_center="acme", channel="web", model_version="3.2.0")
CONTACTS = ContactModel(
    Exponential(60.0),
    patience=Exponential(20.0),
    bot_containment=0.4,
    bot_handle_time=Exponential(30.0),
)


@pytest.fixture
def exporter() -> Iterator[tuple[MetricsExporter, str]]:
    exporter = MetricsExporter(LABELS, time_scale=10.0)
    server = exporter.serve(0, "127.0.0.1")
    try:
        yield exporter, f"http://127.0.0.1:{server.port}/metrics"
    finally:
        server.close()


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample on the page, by name: (labels, value)."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(httpx.get(url, timeout=5.0).text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(v for found, v in samples if labels.items() <= found.items())


@dataclass
class ArrivalsByHandler:
    """An independent count of the contacts offered, by who handles them."""

    by_handler: Counter[str] = field(default_factory=Counter)

    def arrived(self, contact: Contact) -> None:
        self.by_handler[contact.handler] += 1

    def answered(self, contact: Contact, within_target: bool) -> None:
        pass

    def abandoned(self, contact: Contact, now: float) -> None:
        pass

    def completed(self, contact: Contact) -> None:
        pass


def test_the_contract_is_served_with_its_labels(exporter: tuple[MetricsExporter, str]) -> None:
    metrics, url = exporter
    arrivals = ArrivalsByHandler()
    queue = ContactCenterQueue(
        ArrivalProfile(0.0, 3600.0, (0.5,)),
        CONTACTS,
        seed=1,
        initial_servers=10,
        observers=[metrics, arrivals],
    )
    queue.run_until(3600.0)
    metrics.record_state(queue.counters())
    counters = queue.counters()
    samples = scrape(url)

    center = {"contact_center": "acme", "channel": "web"}
    assert total(samples["switchboard_contacts_arrived_total"], **center) == counters.arrived
    answered = samples["switchboard_contacts_answered_total"]
    assert total(answered, **center, within_sla="true") == counters.answered_within_target
    assert total(answered, **center) == counters.answered
    assert total(samples["switchboard_contacts_abandoned_total"], **center) == counters.abandoned
    assert total(samples["switchboard_queue_wait_seconds_count"], **center) == counters.answered
    handled = samples["switchboard_handle_time_seconds_count"]
    assert total(handled, handler="bot") + total(handled, handler="agent") == counters.completed
    assert total(handled, handler="bot") > 0 and total(handled, handler="agent") > 0
    outcomes = samples["switchboard_bot_conversations_total"]
    version = {"contact_center": "acme", "model_version": "3.2.0"}
    # Contained when the bot finishes; escalated at the handover (the arrival), so also the
    # escalated contacts still waiting or with an agent at the end.
    assert total(outcomes, **version, outcome="contained") == total(handled, handler="bot")
    escalated = total(outcomes, **version, outcome="escalated")
    assert escalated == arrivals.by_handler["agent"]
    assert escalated > total(handled, handler="agent")
    assert total(samples["switchboard_bot_response_seconds_count"], **version) == counters.answered
    assert total(samples["switchboard_simulator_servers"]) == 10
    # Durations are in wall-clock seconds at 10x: handle times of ~60 simulated s become ~6 s.
    handle_sum = total(samples["switchboard_handle_time_seconds_sum"], handler="agent")
    assert handle_sum / total(handled, handler="agent") == pytest.approx(6.0, rel=0.25)


class FlakyCapacity:
    """Known, then unknown (an apiserver going away), then known again."""

    def __init__(self) -> None:
        self.answers: list[int | None] = [4, None, None, 8]

    async def servers(self) -> int:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is None:
            raise CapacityUnavailable("apiserver down")
        return answer


def test_live_mode_follows_capacity_and_keeps_it_when_unknown() -> None:
    metrics = MetricsExporter(LABELS, time_scale=600.0)
    queue = ContactCenterQueue(
        ArrivalProfile(0.0, 3600.0, (0.5,)),
        CONTACTS,
        seed=1,
        initial_servers=0,
        observers=[metrics],
    )
    seen: list[int] = []

    class Watching(FlakyCapacity):
        async def servers(self) -> int:
            seen.append(queue.ready_servers)
            return await super().servers()

    asyncio.run(
        run_live(
            queue,
            metrics,
            Watching(),
            speed=600.0,
            until=120.0,
            poll_seconds=0.02,
            tick_seconds=0.005,
        )
    )
    assert queue.now == 120.0
    assert seen[:4] == [0, 4, 4, 4]  # unknown capacity keeps the 4 servers
    assert queue.ready_servers == 8
    assert queue.counters().arrived > 20


def test_fixed_capacity_is_what_was_given() -> None:
    assert asyncio.run(FixedCapacity(12).servers()) == 12
