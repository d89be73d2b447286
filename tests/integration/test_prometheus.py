"""The operator's Prometheus query layer against a real Prometheus (hack/prometheus.py) that
scrapes the contact-center simulator (`switchboard simulate --serve`).

The simulator runs a flat profile at a known rate with fixed, ample capacity, at `SPEED` times
real time. What Prometheus should then see follows from the simulator's documented time scale
(docs/simulator.md): contacts arrive at SPEED x the simulated rate per wall-clock second, and
handle times are exported in wall-clock seconds (simulated / SPEED). Those configured values,
not anything measured by our code, are the expectations.
"""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus
from switchboard.metrics.quality import read_quality
from switchboard.metrics.queries import arrival_history, observe
from tests.factory import contact_center
from tests.integration.conftest import LocalPrometheus, Simulator
from tests.integration.kube import REPO, wait_until

SPEED = 60.0
RATE = 1.0  # simulated contacts per second
AHT = 120.0  # simulated seconds, agents
BOT_AHT = 30.0
CONTAINMENT = 0.4
# Wall-clock expectations.
ARRIVALS = RATE * SPEED  # 60/s
AGENT_ARRIVALS = ARRIVALS * (1 - CONTAINMENT)  # 36/s
AGENT_AHT = AHT / SPEED  # 2 s
BOT_HANDLE = BOT_AHT / SPEED  # 0.5 s, every contact
# Each tier's offered load: the contacts with it when nobody waits (M/G/inf: Poisson, this mean).
BOT_LOAD = ARRIVALS * BOT_HANDLE  # 30, a standard deviation of 5.5
AGENT_LOAD = AGENT_ARRIVALS * AGENT_AHT  # 72, a standard deviation of 8.5
SCRAPE_INTERVAL = 2.0  # hack/prometheus.py's default
WINDOW = 15.0
RECENT = 8.0
# Before the long window starts, completions are biased to short contacts (long ones are
# still in service): the longest handle times at CV 0.25 are about 2x the mean, 4 s of wall time.
WARM_UP = 6.0


@dataclass(frozen=True)
class Running:
    simulator: Simulator
    name: str
    namespace: str
    first_scraped: float  # time.time() of the first successful scrape


@pytest.fixture(scope="module")
def simulated(
    prometheus: LocalPrometheus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """One simulator for the module, scraped with a `namespace` label as Kubernetes service
    discovery would add it, and scraped long enough for WINDOW to be in steady state."""
    name, namespace = f"sim-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    settings = {
        "--profile": "flat",
        "--peak-rate": RATE,
        "--speed": SPEED,
        "--aht": AHT,
        "--bot-aht": BOT_AHT,
        "--aht-cv": 0.25,
        "--bot-containment": CONTAINMENT,
        "--patience": "inf",
        "--bot-servers": 150,  # 30 and 72 Erlangs offered: nobody waits
        "--agent-servers": 250,
        "--contact-center": name,
    }
    simulator = Simulator(
        [str(part) for pair in settings.items() for part in pair],
        tmp_path_factory.mktemp("simulator") / "simulator.log",
    )
    prometheus.add_target(simulator.address, {"namespace": namespace})
    try:
        wait_until(
            f"Prometheus to scrape the simulator at {simulator.address}",
            lambda: prometheus.scraped(simulator.address),
            timeout=30,
        )
        running = Running(simulator, name, namespace, time.time())
        time.sleep(max(0.0, running.first_scraped + WARM_UP + WINDOW + 2 - time.time()))
        yield running
    finally:
        simulator.stop()
        prometheus.remove_target(simulator.address)


def near(value: float | None, expected: float, tolerance: float) -> bool:
    return value is not None and abs(value - expected) <= tolerance * expected


async def test_observe_reads_the_simulated_demand_per_workload(
    prometheus: LocalPrometheus, simulated: Running
) -> None:
    cc = contact_center(name=simulated.name, namespace=simulated.namespace)
    async with Prometheus(prometheus.url) as client:
        bot, agents = await asyncio.gather(
            observe(
                client,
                cc,
                "bot",
                window_seconds=WINDOW,
                recent_windows=(RECENT,),
                aht_window_seconds=WINDOW,
            ),
            observe(
                client,
                cc,
                "agents",
                window_seconds=WINDOW,
                recent_windows=(RECENT,),
                aht_window_seconds=WINDOW,
            ),
        )
    # Poisson counts over 15 s at 60/s: a 3.3% standard deviation; 15% is over 4 of them.
    assert near(bot.arrival_rate, ARRIVALS, 0.15), bot
    assert near(bot.recent_arrival_rates[0][1], ARRIVALS, 0.25), bot
    assert near(agents.arrival_rate, AGENT_ARRIVALS, 0.15), agents
    assert near(agents.recent_arrival_rates[0][1], AGENT_ARRIVALS, 0.3), agents
    # Means of hundreds of handle times at CV 0.25: within 2%; 10% allows for the window edges.
    assert near(bot.aht_seconds, BOT_HANDLE, 0.10), bot
    assert near(agents.aht_seconds, AGENT_AHT, 0.10), agents
    for observed in (bot, agents):
        assert observed.service_level is not None and observed.service_level > 0.98, observed
        assert observed.abandon_rate == 0.0, observed
        assert observed.backlog is not None and observed.backlog <= 1, observed
        assert observed.patience_seconds is None
        assert observed.window_seconds == WINDOW
        assert [seconds for seconds, _ in observed.recent_arrival_rates] == [RECENT]
    # Ample capacity: each tier's contacts in the system are Poisson around its offered load;
    # 65% and 40% are over 3.3 standard deviations.
    assert near(bot.in_system, BOT_LOAD, 0.65), bot
    assert near(agents.in_system, AGENT_LOAD, 0.4), agents


async def test_the_quality_figures_read_what_the_simulator_configured(
    prometheus: LocalPrometheus, simulated: Running
) -> None:
    cc = contact_center(
        {"spec.metrics": {"handleTimeWindow": f"{WINDOW:g}s"}},
        name=simulated.name,
        namespace=simulated.namespace,
    )
    async with Prometheus(prometheus.url) as client:
        figures = await read_quality(client, cc)
    # Ample capacity and infinite patience: every contact answered at once, nobody abandons.
    assert figures.first_response_seconds is not None and figures.first_response_seconds < 0.5
    assert figures.service_level is not None and figures.service_level > 0.98, figures
    assert figures.service_level_without_short_abandons == figures.service_level
    assert figures.abandon_rate == 0.0
    assert near(figures.agent_handle_time_seconds, AGENT_AHT, 0.10), figures
    # The simulator's customers never come back, nor answer surveys.
    assert figures.first_contact_resolution == 1.0
    assert (figures.csat, figures.csat_satisfied, figures.nps) == (None, None, None)


async def test_another_contact_center_sees_none_of_these_series(
    prometheus: LocalPrometheus, simulated: Running
) -> None:
    async with Prometheus(prometheus.url) as client:
        elsewhere = await observe(
            client,
            contact_center(name=simulated.name, namespace="other"),
            "bot",
            window_seconds=WINDOW,
        )
        other_name = await observe(
            client, contact_center(name="someone-else", namespace=simulated.namespace), "agents"
        )
    for observed in (elsewhere, other_name):
        assert observed.arrival_rate is None, observed
        assert observed.aht_seconds is None, observed
        assert observed.service_level is None, observed
        assert observed.backlog is None, observed


async def test_overrides_run_with_their_placeholders_filled(
    prometheus: LocalPrometheus, simulated: Running
) -> None:
    doubled = (
        "2 * sum(rate(switchboard_contacts_arrived_total"
        '{contact_center="$contact_center",namespace="$namespace"}[$window]))'
    )
    handler_aht = (
        'sum(rate(switchboard_handle_time_seconds_sum{contact_center="$contact_center",'
        'handler="$handler"}[$window])) / sum(rate(switchboard_handle_time_seconds_count'
        '{contact_center="$contact_center",handler="$handler"}[$window]))'
    )
    queries = {
        "arrivalRate": doubled,
        "handleTimeSeconds": handler_aht,
        "patienceSeconds": "vector(42)",
    }
    cc = contact_center(
        {"spec.metrics.queries": queries}, name=simulated.name, namespace=simulated.namespace
    )
    async with Prometheus(prometheus.url) as client:
        bot, agents = await asyncio.gather(
            observe(client, cc, "bot", window_seconds=WINDOW),
            observe(client, cc, "agents", window_seconds=WINDOW),
        )
    assert near(bot.arrival_rate, 2 * ARRIVALS, 0.15), bot
    # One override serves both workloads: the agents' rate is the overridden one too.
    assert near(agents.arrival_rate, 2 * ARRIVALS, 0.15), agents
    assert near(bot.aht_seconds, BOT_HANDLE, 0.10), bot
    assert near(agents.aht_seconds, AGENT_AHT, 0.10), agents
    assert bot.patience_seconds == 42.0


async def test_a_broken_override_is_reported_with_the_metric_it_belongs_to(
    prometheus: LocalPrometheus, simulated: Running
) -> None:
    cc = contact_center(
        {"spec.metrics.queries.serviceLevel": "sum(rate("},
        name=simulated.name,
        namespace=simulated.namespace,
    )
    async with Prometheus(prometheus.url) as client:
        with pytest.raises(MetricsUnavailable) as raised:
            await observe(client, cc, "bot", window_seconds=WINDOW)
    assert raised.value.reason.startswith("service level: Prometheus rejected `sum(rate(`")
    assert "bad_data" in raised.value.reason


async def test_arrival_history_counts_contacts_per_slot(
    prometheus: LocalPrometheus, simulated: Running
) -> None:
    cc = contact_center(name=simulated.name, namespace=simulated.namespace)
    slot = 10.0
    # The first slot scraped from its start to its end, and time for two such slots.
    first_full = math.ceil((simulated.first_scraped + SCRAPE_INTERVAL) / slot) * slot
    await asyncio.sleep(max(0.0, first_full + 2 * slot + 1 - time.time()))
    now = time.time()
    async with Prometheus(prometheus.url) as client:
        bot = await arrival_history(client, cc, 1, slot, now)
        agents = await arrival_history(client, cc, 1, slot, now, workload="agents")
    assert bot.day_start == now - now % 86400
    assert len(bot.today) == len(agents.today) == int((now - bot.day_start) // slot)
    full = range(round((first_full - bot.day_start) / slot), len(bot.today))
    assert len(full) >= 2
    for index in full:
        assert near(bot.today[index], ARRIVALS * slot, 0.2), (index, bot.today[-4:])
        assert near(agents.today[index], AGENT_ARRIVALS * slot, 0.25), (index, agents.today[-4:])
    # Before the simulator ran, its series did not exist: no data, not zero.
    before = math.floor((simulated.first_scraped - 30 - bot.day_start) / slot)
    assert bot.today[before] is None
    assert bot.today[0] is None
    assert bot.today_from_midnight == ()
    assert bot.past_days == ()  # yesterday has no complete day of this contact center


async def test_scalar_and_series_read_what_prometheus_computes(
    prometheus: LocalPrometheus,
) -> None:
    two_series = (
        'label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")'
    )
    async with Prometheus(prometheus.url) as client:
        assert await client.scalar("vector(1.5)") == 1.5
        assert await client.scalar("scalar(vector(3))") == 3.0
        assert await client.scalar("vector(0) / 0") is None  # NaN
        assert await client.scalar("vector(1) > 2") is None  # empty
        assert await client.scalar("time()", at=1_700_000_000) == 1_700_000_000
        with pytest.raises(MetricsUnavailable, match="returned 2 series"):
            await client.scalar(two_series)
        with pytest.raises(MetricsUnavailable, match=r"rejected .*\(bad_data\)"):
            await client.scalar("sum(")
        points = await client.series("time()", 1_700_000_000, 1_700_000_060, 15)
        assert points == [(1_700_000_000 + 15.0 * i, 1_700_000_000 + 15.0 * i) for i in range(5)]
        assert await client.series("vector(1) > 2", 1_700_000_000, 1_700_000_060, 15) == []


def test_targets_come_and_go_without_a_restart(prometheus: LocalPrometheus) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
    prometheus.add_target(address, {"namespace": "somewhere"})
    try:
        target = wait_until(
            f"Prometheus to pick up the target {address}",
            lambda: next(
                (t for t in prometheus.active_targets() if t["labels"]["instance"] == address),
                None,
            ),
        )
        assert target["labels"]["namespace"] == "somewhere"
    finally:
        prometheus.remove_target(address)
    wait_until(
        f"Prometheus to drop the target {address}",
        lambda: all(t["labels"]["instance"] != address for t in prometheus.active_targets()),
    )


def _instance(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "hack" / "prometheus.py"),
            "--state-dir",
            str(state_dir),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


async def test_a_stopped_prometheus_is_metrics_unavailable(tmp_path: Path) -> None:
    """A second, short-lived instance (the session's keeps running)."""
    started = _instance(tmp_path, "up")
    assert started.returncode == 0, started.stderr
    url = (tmp_path / "prometheus-url").read_text().strip()
    async with Prometheus(url, timeout=2) as client:
        try:
            assert await client.scalar("vector(1)") == 1.0
        finally:
            stopped = _instance(tmp_path, "down")
        assert stopped.returncode == 0, stopped.stderr
        assert _instance(tmp_path, "status").returncode == 1
        with pytest.raises(MetricsUnavailable, match=f"cannot reach Prometheus at {url}"):
            await client.scalar("vector(1)")
        with pytest.raises(MetricsUnavailable, match="cannot reach Prometheus"):
            await client.series("vector(1)", 0, 60, 15)
        cc = contact_center(name="acme", namespace="support")
        with pytest.raises(MetricsUnavailable, match=r"^arrival rate: cannot reach Prometheus"):
            await observe(client, cc, "bot")


async def test_a_prometheus_that_does_not_answer_times_out() -> None:
    """A server that accepts connections and never answers (a hung Prometheus)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with Prometheus(url, timeout=0.5) as client:
            started = time.monotonic()
            with pytest.raises(MetricsUnavailable, match=r"did not answer within 0\.5 s"):
                await client.scalar("vector(1)")
            assert time.monotonic() - started < 3


def test_simulate_fixture_registers_its_simulators_with_their_labels(
    prometheus: LocalPrometheus, simulate: Callable[..., Simulator]
) -> None:
    simulator = simulate(
        "--profile", "flat", "--bot-servers", "5", "--agent-servers", "5",
        "--contact-center", "fixture-check",
        labels={"namespace": "t-fixture"},
    )  # fmt: skip
    target = wait_until(
        f"Prometheus to scrape {simulator.address}", lambda: prometheus.scraped(simulator.address)
    )
    assert target["labels"]["namespace"] == "t-fixture"
