"""SLA autoscaling end to end: the simulator serves a morning ramp to a real Prometheus, the
capacity of each of its two tiers follows the ContactCenter's ready bot and agent pods in the
cluster, and the operator sizes both workloads at once from what Prometheus says. The loop runs
closed, for real, sped up. After the peak the traffic stops; the operator is restarted while
the scale-down window still holds the peak's replicas, and carries on from the state it kept in
status.

Time scale: the simulator runs SPEED simulated seconds per wall second and exports durations
in wall seconds, so the ContactCenter's objective and windows are in wall seconds too
(docs/simulator.md): 80% answered within WITHIN_SIM simulated seconds = 1 wall second, at each
tier.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from pyworkforce.queuing import ErlangC

from tests.factory import valid_manifest
from tests.integration.contactcenters import apply, contact_center, wait_for_condition
from tests.integration.kube import REPO, kubectl, wait_until
from tests.integration.operator import Operator, metric_sum

SPEED = 30.0
WITHIN_SIM = 30.0  # simulated seconds: 1 wall second at SPEED
SLOTS_PER_REPLICA = 4  # bot conversations or agent seats per replica
CONTAINMENT = 0.5  # the bot finishes half; the other half reach the agents
QUIET_PER_MINUTE, PEAK_PER_MINUTE = 4, 20  # simulated contacts per simulated minute
QUIET, RAMP, PEAK = 10, 10, 20  # simulated minutes of each phase; then nobody arrives
INTERVAL_SECONDS = 5
# Long enough that the traffic's end has settled in every metric window (handle time: 20 s)
# and the operator has been restarted, while the window still holds the peak's replicas.
SCALE_DOWN_WINDOW_SECONDS = 90
RESTART_AFTER_PEAK = 45  # wall seconds


def wall(simulated_minutes: float) -> float:
    return simulated_minutes * 60 / SPEED


@dataclass(frozen=True)
class Tier:
    """One of the two autoscaled workloads and what reaches it."""

    name: str  # the spec field and the Deployment's suffix
    slots_field: str  # conversations or seats per replica
    handler: str  # the contract's handler label
    aht_sim: float  # simulated seconds with the tier
    share: float  # of the contacts that arrive, those that reach the tier
    servers_status: str  # status.sla's field with the servers it needs

    def servers(self, contacts_per_minute: float) -> int:
        """Servers for 80% within WITHIN_SIM when this many contacts arrive per simulated
        minute, from an independent implementation (pyworkforce's Erlang C)."""
        erlang = ErlangC(
            transactions=contacts_per_minute * self.share,
            aht=self.aht_sim / 60,
            asa=WITHIN_SIM / 60,
            interval=1,
            shrinkage=0.0,
        )
        positions: int = erlang.required_positions(service_level=0.8, max_occupancy=1.0)[
            "raw_positions"
        ]
        return positions

    def needed(self, contacts_per_minute: float) -> int:
        """Replicas for those servers."""
        return -(-self.servers(contacts_per_minute) // SLOTS_PER_REPLICA)

    def low_rate(self, contacts_per_minute: float) -> float:
        """The arrival rate three standard deviations of Poisson noise below this one, as the
        operator may measure it over its 10-second rate window."""
        counted = contacts_per_minute * self.share / 60 * SPEED * 10
        return contacts_per_minute * (1 - 3 / math.sqrt(counted))


BOT = Tier("bot", "concurrency", "bot", 60.0, 1.0, "botServers")
AGENTS = Tier("agents", "seatsPerReplica", "agent", 120.0, 1 - CONTAINMENT, "recommendedAgents")
TIERS = (BOT, AGENTS)


def ramp_trace(path: Path) -> None:
    """One-minute slots from 08:00: quiet, a linear ramp, a plateau; then the trace ends."""
    counts = [QUIET_PER_MINUTE] * QUIET
    counts += [
        round(QUIET_PER_MINUTE + (PEAK_PER_MINUTE - QUIET_PER_MINUTE) * (i + 1) / RAMP)
        for i in range(RAMP)
    ]
    counts += [PEAK_PER_MINUTE] * PEAK
    rows = [f"{8 + m // 60:02d}:{m % 60:02d},{count}" for m, count in enumerate(counts)]
    path.write_text("start,arrivals\n" + "\n".join(rows) + "\n")


def autoscaled_manifest(name: str, prometheus_url: str) -> dict[str, Any]:
    manifest = valid_manifest(name)
    spec = manifest["spec"]
    autoscaling = {
        "minReplicas": 1,
        "maxReplicas": 30,
        "scaleUp": {
            "stabilizationWindow": "0s",
            "maxReplicasPerStep": 10,
            "maxPercentPerStep": 100,
        },
        "scaleDown": {
            "stabilizationWindow": f"{SCALE_DOWN_WINDOW_SECONDS}s",
            "maxReplicasPerStep": 1,
            "maxPercentPerStep": 10,
        },
    }
    spec["bot"] |= {"concurrency": SLOTS_PER_REPLICA, "autoscaling": autoscaling}
    spec["agents"] = {"seatsPerReplica": SLOTS_PER_REPLICA, "autoscaling": autoscaling}
    spec |= {
        "sla": {
            "serviceLevel": {"target": 0.8, "answerWithinSeconds": 1},
            "maxAbandonRate": 0.05,
        },
        "metrics": {
            "prometheusURL": prometheus_url,
            "interval": f"{INTERVAL_SECONDS}s",
            "rateWindow": "10s",
            "recentWindow": "5s",
            "handleTimeWindow": "20s",
        },
        "forecast": {"enabled": False},  # no history in a fresh Prometheus: react only
    }
    return manifest


@dataclass
class ReplicaRecorder:
    """Polls a Deployment's replicas in the background: (wall time, replicas)."""

    client: Client
    namespace: str
    name: str
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                deployment = self.client.get(Deployment, self.name, namespace=self.namespace)
                self.samples.append((time.time(), deployment.spec.replicas))
            except Exception:  # not there yet
                pass
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()

    def below(self, replicas: int) -> Callable[[], bool]:
        """Whether the latest sample is below `replicas`, to wait on."""
        return lambda: bool(self.samples) and self.samples[-1][1] < replicas

    def between(self, start: float, end: float) -> list[int]:
        return [replicas for at, replicas in self.samples if start <= at <= end]


def prometheus_value(url: str, promql: str) -> float:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as response:
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def held_until(recommendations: list[dict[str, Any]], replicas: int) -> float:
    """When the scale-down window, as status keeps it, stops holding `replicas`: one window
    after the last recommendation of at least that many was last made (one interval before
    the next one began)."""
    last = max(i for i, r in enumerate(recommendations) if r["replicas"] >= replicas)
    assert last + 1 < len(recommendations), f"nothing lower recommended yet: {recommendations}"
    ended = datetime.fromisoformat(recommendations[last + 1]["since"]).timestamp()
    return ended - INTERVAL_SECONDS + SCALE_DOWN_WINDOW_SECONDS


@pytest.fixture
def recorder(client: Client, namespace: str) -> Iterator[Callable[[str], ReplicaRecorder]]:
    started: list[tuple[ReplicaRecorder, threading.Thread]] = []

    def start(name: str) -> ReplicaRecorder:
        recording = ReplicaRecorder(client, namespace, name)
        thread = threading.Thread(target=recording.run, daemon=True)
        thread.start()
        started.append((recording, thread))
        return recording

    yield start
    for recording, thread in started:
        recording.stop()
        thread.join()


def test_both_tiers_ride_a_morning_ramp_through_a_restart_and_hold_when_prometheus_goes(
    client: Client,
    namespace: str,
    operator: Operator,
    prometheus: Any,
    simulate: Any,
    recorder: Callable[[str], ReplicaRecorder],
    tmp_path: Path,
) -> None:
    name = "ramp"
    apply(namespace, autoscaled_manifest(name, prometheus.url))
    wait_for_condition(client, namespace, name, "Ready", timeout=60)
    replicas = {tier.name: recorder(f"{name}-{tier.name}") for tier in TIERS}

    trace = tmp_path / "ramp.csv"
    ramp_trace(trace)
    simulator = simulate(
        "--trace", str(trace), "--speed", str(SPEED), "--within", str(WITHIN_SIM),
        "--bot-aht", str(BOT.aht_sim), "--aht", str(AGENTS.aht_sim), "--aht-cv", "0.5",
        "--patience", "300", "--bot-containment", str(CONTAINMENT),
        "--contact-center", name, "--namespace", namespace,
    )  # fmt: skip
    started = time.time()
    ramp_start = started + wall(QUIET)
    peak_start = ramp_start + wall(RAMP)
    peak_end = peak_start + wall(PEAK)

    # The quiet opening: metrics flow, and the operator says so.
    wait_for_condition(client, namespace, name, "MetricsAvailable", timeout=30)
    time.sleep(max(0.0, peak_end - time.time()))
    body = contact_center(client, namespace, name)
    sla = body["status"]["sla"]
    # Sized for 80/1, or for what the rest of the interval under way needs to end at it.
    assert any(text in sla["lastDecision"] for text in ("servers for 80/1", "to end at 80/1"))
    # The quality loop reads the same Prometheus into status.quality (the figures' PromQL is
    # checked against the simulator in test_prometheus.py): here, that it is written.
    quality = body["status"]["quality"]
    assert 0 < quality["serviceLevel"] <= 1 and quality["agentHandleTimeSeconds"] > 0, quality
    for tier in TIERS:
        quiet = replicas[tier.name].between(started + wall(QUIET) / 2, ramp_start)
        plateau = replicas[tier.name].between(peak_start + wall(PEAK) / 2, peak_end)
        needed = tier.needed(PEAK_PER_MINUTE)
        assert quiet and plateau, f"no {tier.name} replica samples: {replicas[tier.name].samples}"
        assert max(quiet) < needed, f"the quiet phase needs fewer {tier.name} replicas"
        # The operator sizes from measured rates (about 100 arrivals at the bot in its 10 s
        # window: ±10% Poisson noise), so within one replica of the exact requirement.
        assert min(plateau) >= needed - 1, (
            f"by mid-plateau the {tier.name} should have about the {needed} replicas "
            f"Erlang C needs for the peak; had {plateau}"
        )
        # One reading, at the peak's end: what the measured rate can say, noise included.
        assert sla[tier.servers_status] >= tier.servers(tier.low_rate(PEAK_PER_MINUTE))

        # What the tier's customers got over the late peak (the simulator's counters).
        selector = f'contact_center="{name}"'
        window = f"{round(wall(PEAK) / 2)}s"
        answered = prometheus_value(
            prometheus.url,
            f'sum(increase(switchboard_contacts_answered_total{{{selector},handler="{tier.handler}"'
            f',within_sla="true"}}[{window}]))',
        )
        offered_series = (
            f"switchboard_contacts_arrived_total{{{selector}}}"
            if tier is BOT
            else f'switchboard_bot_conversations_total{{{selector},outcome="escalated"}}'
        )
        offered = prometheus_value(prometheus.url, f"sum(increase({offered_series}[{window}]))")
        assert answered / offered >= 0.75, (
            f"{tier.name} service level over the late peak {answered / offered:.2f}"
        )
    events = kubectl(
        "get", "events", "-n", namespace, "--field-selector", "reason=Scaled", "-o", "json"
    )
    assert json.loads(events.stdout)["items"], "every scaling decision is an event"
    # The operator's own metrics say the same, per tier.
    exported = operator.metrics()
    center = {"namespace": namespace, "contact_center": name}
    for tier in TIERS:
        ups = metric_sum(
            exported, "switchboard_autoscaler_decisions_total", workload=tier.name, direction="up"
        )
        assert ups >= 1, f"{tier.name} scaled up"
        observed = metric_sum(
            exported, "switchboard_autoscaler_observed_service_level", workload=tier.name, **center
        )
        assert 0 < observed <= 1, observed
    assert metric_sum(exported, "switchboard_autoscaler_metrics_available", **center) == 1
    target = metric_sum(exported, "switchboard_sla_objective", objective="service_level", **center)
    assert target == 0.8

    # Nobody arrives any more. Once that has settled in every window, nothing changes: the
    # operator restarted then writes nothing, and holds the peak's replicas until the window
    # it kept in status ends, not a window after its restart.
    time.sleep(max(0.0, peak_end + RESTART_AFTER_PEAK - time.time()))
    operator.stop()
    stored = contact_center(client, namespace, name)["status"]["sla"]
    held = {tier.name: replicas[tier.name].samples[-1][1] for tier in TIERS}
    until = {
        tier.name: held_until(stored[tier.name]["recommendations"], held[tier.name])
        for tier in TIERS
    }
    operator.start()
    restarted = time.time()
    assert min(until.values()) > restarted + 2 * INTERVAL_SECONDS, (
        f"the windows end too soon after the restart to tell: {until}, restart {restarted}"
    )
    time.sleep(max(0.0, min(until.values()) - 1.5 - time.time()))
    metrics = operator.metrics()
    writes = [line for line in metrics.splitlines() if line.startswith("switchboard_api_w")]
    assert metric_sum(metrics, "switchboard_api_writes_total") == 0, writes
    for tier in TIERS:
        samples = replicas[tier.name]
        wait_until(
            f"the {tier.name} to scale down once its window ends",
            samples.below(held[tier.name]),
            timeout=until[tier.name] + 3 * INTERVAL_SECONDS - time.time(),
        )
        first_down = next(
            at for at, r in samples.samples if at >= restarted and r < held[tier.name]
        )
        assert first_down >= until[tier.name] - 1.5, (
            f"{tier.name} scaled down {until[tier.name] - first_down:.1f} s before its window ended"
        )
        assert set(samples.between(restarted, first_down - 0.5)) == {held[tier.name]}, (
            f"{tier.name} replicas moved before the window ended: {samples.samples}"
        )

    # Prometheus goes away in the middle of the scale-down: it stops, and the operator says
    # why; it comes back: the scale-down goes on, one replica at a time, to the minimum.
    subprocess.run([sys.executable, str(REPO / "hack/prometheus.py"), "down"], check=True)
    try:
        body = wait_for_condition(
            client,
            namespace,
            name,
            "MetricsAvailable",
            status="False",
            timeout=3 * INTERVAL_SECONDS,
        )
        condition = next(c for c in body["status"]["conditions"] if c["type"] == "MetricsAvailable")
        assert condition["reason"] == "PrometheusUnavailable"
        # A step already due may land before the operator found Prometheus gone; from one
        # recorder poll later, the replicas must stay.
        time.sleep(1)
        holding_since = time.time()
        holding = {tier.name: replicas[tier.name].samples[-1][1] for tier in TIERS}
        assert min(holding.values()) > 1, f"caught too late to tell a hold: {holding}"
        time.sleep(3 * INTERVAL_SECONDS)
        for tier in TIERS:
            held_then = replicas[tier.name].between(holding_since, time.time())
            assert held_then and set(held_then) == {holding[tier.name]}, (
                "no data is never a reason to scale"
            )
    finally:
        subprocess.run([sys.executable, str(REPO / "hack/prometheus.py"), "up"], check=True)
    wait_for_condition(client, namespace, name, "MetricsAvailable", timeout=60)
    for tier in TIERS:
        samples = replicas[tier.name]
        wait_until(
            f"the {tier.name} to reach its minimum",
            samples.below(2),
            timeout=holding[tier.name] * (INTERVAL_SECONDS + 1) + 30,
        )
        after = [r for at, r in samples.samples if at >= restarted]
        steps_down = [a - b for a, b in itertools.pairwise(after) if b < a]
        assert steps_down and max(steps_down) <= 1, f"{tier.name} scale-down steps {steps_down}"
    simulator.stop()
