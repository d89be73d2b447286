"""Live mode's exporter: the metrics contract over HTTP, scraped for real."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from switchboard.simulator.capacity import CapacityUnavailable, FixedCapacity
from switchboard.simulator.contacts import ContactModel, ContactStream, Exponential
from switchboard.simulator.engine import ContactCenterQueue, Visit
from switchboard.simulator.exporter import ExportLabels, MetricsExporter
from switchboard.simulator.live import run_live
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.workloads import WORKLOADS, Workload

LABELS = ExportLabels(contact_center="acme", channel="web", model_version="3.2.0")
CONTACTS = ContactModel(
    bot_handle_time=Exponential(30.0),
    agent_handle_time=Exponential(60.0),
    bot_containment=0.4,
    patience=Exponential(20.0),
)


@pytest.fixture
def exporter() -> Iterator[tuple[MetricsExporter, str]]:
    exporter = MetricsExporter(LABELS, within_seconds=20.0, time_scale=10.0)
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
class Seen:
    """An engine observer keeping an independent count of what happened, by tier."""

    offers: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    within: Counter[str] = field(default_factory=Counter)
    abandonments: Counter[str] = field(default_factory=Counter)
    completions: Counter[str] = field(default_factory=Counter)
    contained: int = 0

    def offered(self, visit: Visit) -> None:
        self.offers[visit.workload] += 1

    def answered(self, visit: Visit, within_target: bool) -> None:
        self.answers[visit.workload] += 1
        self.within[visit.workload] += within_target

    def abandoned(self, visit: Visit, now: float) -> None:
        self.abandonments[visit.workload] += 1

    def completed(self, visit: Visit, now: float) -> None:
        self.completions[visit.workload] += 1
        self.contained += visit.workload == "bot" and not visit.contact.escalates


def test_the_contract_is_served_per_tier(exporter: tuple[MetricsExporter, str]) -> None:
    metrics, url = exporter
    seen = Seen()
    queue = ContactCenterQueue(
        ContactStream(ArrivalProfile(0.0, 3600.0, (0.5,)), CONTACTS, seed=1),
        initial_servers={"bot": 14, "agents": 16},
        observers=[metrics, seen],
    )
    queue.run_until(3600.0)
    for workload in WORKLOADS:
        metrics.record_state(workload, queue.counters(workload))
    samples = scrape(url)

    center = {"contact_center": "acme", "channel": "web"}
    version = {"contact_center": "acme", "model_version": "3.2.0"}
    arrived = total(samples["switchboard_contacts_arrived_total"], **center)
    assert arrived == seen.offers["bot"] == queue.counters("bot").offered
    outcomes = samples["switchboard_bot_conversations_total"]
    # The agents' arrivals are the bot's handoffs, counted when the bot lets go.
    assert total(outcomes, **version, outcome="escalated") == seen.offers["agents"]
    handoffs = samples["switchboard_bot_handoffs_total"]
    assert total(handoffs, **center) == seen.offers["agents"] > 0
    assert total(outcomes, **version, outcome="contained") == seen.contained
    answered = samples["switchboard_contacts_answered_total"]
    for workload, handler in (("bot", "bot"), ("agents", "agent")):
        tier = {**center, "handler": handler}
        assert total(answered, **tier) == seen.answers[workload] > 0
        assert total(answered, **tier, within_sla="true") == seen.within[workload]
        assert (
            total(samples["switchboard_contacts_abandoned_total"], **tier)
            == (seen.abandonments[workload])
        )
        assert (
            total(samples["switchboard_queue_wait_seconds_count"], **tier)
            == (seen.answers[workload])
        )
        assert (
            total(samples["switchboard_handle_time_seconds_count"], **tier)
            == (seen.completions[workload])
        )
    assert seen.abandonments["bot"] > 0 and seen.abandonments["agents"] > 0
    assert (
        total(samples["switchboard_bot_response_seconds_count"], **version) == (seen.answers["bot"])
    )
    servers = samples["switchboard_simulator_servers"]
    assert (total(servers, workload="bot"), total(servers, workload="agents")) == (14, 16)
    # Durations are in wall-clock seconds at 10x: handle times of ~60 simulated s become ~6 s.
    handled = samples["switchboard_handle_time_seconds_count"]
    handle_sum = total(samples["switchboard_handle_time_seconds_sum"], handler="agent")
    assert handle_sum / total(handled, handler="agent") == pytest.approx(6.0, rel=0.25)


class FlakyCapacity:
    """Known, then unknown (an apiserver going away), then known again."""

    def __init__(self) -> None:
        self.answers: list[int | None] = [4, None, None, 8]

    async def servers(self) -> Mapping[Workload, int]:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is None:
            raise CapacityUnavailable("apiserver down")
        return {"bot": answer, "agents": 2 * answer}


def test_live_mode_follows_capacity_and_keeps_it_when_unknown() -> None:
    metrics = MetricsExporter(LABELS, within_seconds=20.0, time_scale=600.0)
    queue = ContactCenterQueue(
        ContactStream(ArrivalProfile(0.0, 3600.0, (0.5,)), CONTACTS, seed=1),
        initial_servers={},
        observers=[metrics],
    )
    seen: list[tuple[int, int]] = []

    class Watching(FlakyCapacity):
        async def servers(self) -> Mapping[Workload, int]:
            seen.append((queue.ready_servers("bot"), queue.ready_servers("agents")))
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
    assert seen[:4] == [(0, 0), (4, 8), (4, 8), (4, 8)]  # unknown capacity keeps what it has
    assert (queue.ready_servers("bot"), queue.ready_servers("agents")) == (8, 16)
    assert queue.counters("bot").offered > 20


def test_fixed_capacity_is_what_was_given() -> None:
    assert asyncio.run(FixedCapacity(bot=12, agents=3).servers()) == {"bot": 12, "agents": 3}
