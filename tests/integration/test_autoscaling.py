"""SLA autoscaling end to end: the simulator serves a morning ramp to a real Prometheus, its
capacity follows the ContactCenter's ready bot and agent pods in the cluster, and the operator
sizes one of them (the bot in one run, the agent workspace in the other) from what Prometheus
says. The loop runs closed, for real, sped up.

Time scale: the simulator runs SPEED simulated seconds per wall second and exports durations
in wall seconds, so the ContactCenter's objective and windows are in wall seconds too
(docs/simulator.md): 80% answered within WITHIN_SIM simulated seconds = 1 wall second.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from pyworkforce.queuing import ErlangC

from tests.factory import valid_manifest
from tests.integration.contactcenters import apply, contact_center, wait_for_condition
from tests.integration.kube import REPO, kubectl, wait_until
from tests.integration.operator import Operator

SPEED = 30.0
WITHIN_SIM = 30.0  # simulated seconds: 1 wall second at SPEED
AHT_SIM = 120.0
SLOTS_PER_REPLICA = 4  # bot conversations or agent seats per replica
QUIET_PER_MINUTE, PEAK_PER_MINUTE = 3, 15  # simulated contacts per simulated minute
QUIET, RAMP, PEAK, AFTER = 10, 10, 20, 30  # simulated minutes of each phase
INTERVAL_SECONDS = 5
SCALE_DOWN_WINDOW_SECONDS = 15


def wall(simulated_minutes: float) -> float:
    return simulated_minutes * 60 / SPEED


def ramp_trace(path: Path) -> None:
    """One-minute slots from 08:00: quiet, a linear ramp, a plateau, quiet again."""
    counts = [QUIET_PER_MINUTE] * QUIET
    counts += [
        round(QUIET_PER_MINUTE + (PEAK_PER_MINUTE - QUIET_PER_MINUTE) * (i + 1) / RAMP)
        for i in range(RAMP)
    ]
    counts += [PEAK_PER_MINUTE] * PEAK + [QUIET_PER_MINUTE] * AFTER
    rows = [f"{8 + m // 60:02d}:{m % 60:02d},{count}" for m, count in enumerate(counts)]
    path.write_text("start,arrivals\n" + "\n".join(rows) + "\n")


def seats_needed(per_minute: float) -> int:
    """Seats for 80/20-style service at this rate, from an independent implementation."""
    erlang = ErlangC(
        transactions=per_minute, aht=AHT_SIM / 60, asa=WITHIN_SIM / 60, interval=1, shrinkage=0.0
    )
    positions: int = erlang.required_positions(service_level=0.8, max_occupancy=1.0)[
        "raw_positions"
    ]
    return positions


@dataclass(frozen=True)
class Workload:
    """The workload under test. The simulator is one pool of bot slots and agent seats, so the
    other workload is held at one slot and every contact goes to the one under test."""

    name: str  # the spec field and the Deployment's suffix
    slots_field: str  # conversations per replica
    containment: str  # the simulator's --bot-containment
    handle_time_flag: str  # the simulator's handle time of that workload's contacts
    servers_status: str  # status.sla's field with the servers it needs


BOT = Workload("bot", "concurrency", "1", "--bot-aht", "botServers")
AGENTS = Workload("agents", "seatsPerReplica", "0", "--aht", "recommendedAgents")


def autoscaled_manifest(name: str, prometheus_url: str, workload: Workload) -> dict[str, Any]:
    manifest = valid_manifest(name)
    spec = manifest["spec"]
    spec["bot"] |= {"replicas": 1, "concurrency": 1}
    spec["agents"] = {"replicas": 1, "seatsPerReplica": 1}
    spec[workload.name] |= {
        workload.slots_field: SLOTS_PER_REPLICA,
        "autoscaling": {
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
        },
    }
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
    """Polls a Deployment's replicas in the background: (monotonic time, replicas)."""

    client: Client
    namespace: str
    name: str
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                deployment = self.client.get(Deployment, self.name, namespace=self.namespace)
                self.samples.append((time.monotonic(), deployment.spec.replicas))
            except Exception:  # not there yet
                pass
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()

    def between(self, start: float, end: float) -> list[int]:
        return [replicas for at, replicas in self.samples if start <= at <= end]


def prometheus_value(url: str, promql: str) -> float:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as response:
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


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


@pytest.mark.parametrize("workload", [BOT, AGENTS], ids=lambda workload: workload.name)
def test_the_operator_rides_a_morning_ramp_and_holds_when_prometheus_goes(
    workload: Workload,
    client: Client,
    namespace: str,
    operator: Operator,
    prometheus: Any,
    simulate: Any,
    recorder: Callable[[str], ReplicaRecorder],
    tmp_path: Path,
) -> None:
    name = f"ramp-{workload.name}"  # its series stay apart from the other run's
    apply(namespace, autoscaled_manifest(name, prometheus.url, workload))
    wait_for_condition(client, namespace, name, "Ready", timeout=60)
    replicas = recorder(f"{name}-{workload.name}")

    trace = tmp_path / "ramp.csv"
    ramp_trace(trace)
    simulator = simulate(
        "--trace",
        str(trace),
        "--speed",
        str(SPEED),
        "--within",
        str(WITHIN_SIM),
        workload.handle_time_flag,
        str(AHT_SIM),
        "--aht-cv",
        "0.5",
        "--patience",
        "300",
        "--bot-containment",
        workload.containment,
        "--contact-center",
        name,
        "--namespace",
        namespace,
    )
    started = time.monotonic()
    ramp_start = started + wall(QUIET)
    peak_start = ramp_start + wall(RAMP)
    peak_end = peak_start + wall(PEAK)

    # The quiet opening: metrics flow, and the operator says so.
    wait_for_condition(client, namespace, name, "MetricsAvailable", timeout=30)
    time.sleep(max(0.0, peak_end - time.monotonic()))
    quiet = replicas.between(started + wall(QUIET) / 2, ramp_start)
    plateau = replicas.between(peak_start + wall(PEAK) / 2, peak_end)
    needed = -(-seats_needed(PEAK_PER_MINUTE) // SLOTS_PER_REPLICA)
    assert quiet and plateau, f"no replica samples: {replicas.samples}"
    assert max(quiet) < needed, "the quiet phase needs fewer replicas than the peak"
    # The operator sizes from measured rates (about 75 arrivals in its 10 s window: ±12%
    # Poisson noise), so within one replica of the exact requirement.
    assert min(plateau) >= needed - 1, (
        f"by mid-plateau the {workload.name} should have about the {needed} replicas "
        f"Erlang C needs for the peak; had {plateau}"
    )

    # What the customers got over the peak (the simulator's own counters, via Prometheus).
    selector = f'contact_center="{name}"'
    window = f"{round(wall(PEAK) / 2)}s"
    answered = prometheus_value(
        prometheus.url,
        f'sum(increase(switchboard_contacts_answered_total{{{selector},within_sla="true"}}[{window}]))',
    )
    offered = prometheus_value(
        prometheus.url, f"sum(increase(switchboard_contacts_arrived_total{{{selector}}}[{window}]))"
    )
    assert answered / offered >= 0.75, f"service level over the late peak {answered / offered:.2f}"

    body = contact_center(client, namespace, name)
    sla = body["status"]["sla"]
    assert sla[workload.servers_status] >= (needed - 1) * SLOTS_PER_REPLICA
    assert "servers for 80/1" in sla["lastDecision"]
    events = kubectl(
        "get", "events", "-n", namespace, "--field-selector", "reason=Scaled", "-o", "json"
    )
    assert json.loads(events.stdout)["items"], "every scaling decision is an event"

    # The quiet afternoon: down, one replica at a time.
    wait_until(
        f"the {workload.name} to scale down after the peak",
        lambda: replicas.samples[-1][1] < min(plateau),
        timeout=wall(AFTER),
    )
    after = [r for at, r in replicas.samples if at >= peak_end]
    steps_down = [a - b for a, b in itertools.pairwise(after) if b < a]
    assert steps_down and max(steps_down) <= 1, f"scale-down steps {steps_down}"

    # Prometheus goes away: hold the replicas, say so; it comes back: recover.
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
        # The scale-down may have taken one more step before the operator found Prometheus
        # gone; from here on it has no data. One recorder poll later, the replicas must stay.
        time.sleep(1)
        holding_since = time.monotonic()
        held = replicas.samples[-1][1]
        time.sleep(3 * INTERVAL_SECONDS)
        held_then = replicas.between(holding_since, time.monotonic())
        assert held_then and set(held_then) == {held}, "no data is never a reason to scale"
    finally:
        subprocess.run([sys.executable, str(REPO / "hack/prometheus.py"), "up"], check=True)
    wait_for_condition(client, namespace, name, "MetricsAvailable", timeout=60)
    simulator.stop()
