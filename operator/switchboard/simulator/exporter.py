"""The metrics contract (docs/metrics.md), exported by the simulator for Prometheus to scrape.

An engine observer: each visit to a tier updates the contract's families, built by
`switchboard.contract.ContractMetrics` like the data plane's. The bot tier's arrivals are
`switchboard_contacts_arrived_total`; a handoff to the agents is an `escalated` bot outcome and
a `switchboard_bot_handoffs_total` at the moment the bot lets go (its reason always
`HANDOFF_REASON`: the simulator does not model why); a contact the bot finishes is `contained`
then. At `time_scale` S
(a simulator running S times faster than the wall clock) durations are exported in wall-clock
seconds (simulated seconds / S), so that Prometheus' per-second rates and the handle times stay
consistent: rate x handle time is the same offered load as in the simulated world, and a wait
is within the objective when the simulated wait is within the simulated threshold. Bot response
latency is the bot's own and is not scaled.

`switchboard_simulator_*` gauges show the simulator's own state per tier (not part of the
contract).

A scrape is a snapshot of one moment: the driver changes the metrics only inside `updating()`,
and the endpoint collects under the same lock. (Collected family by family while the queues
move on, the agents' handoffs could be read later than their answers, and the backlog computed
from them would show contacts that never waited.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from threading import Lock, Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from switchboard.contract import HANDLERS, ContractMetrics
from switchboard.simulator.engine import Counters, Visit
from switchboard.sizing.workloads import Workload

HANDOFF_REASON = "explicit_request"


@dataclass(frozen=True)
class ExportLabels:
    contact_center: str
    channel: str
    model_version: str


class MetricsExporter:
    """Engine observer holding the contract's metrics in its own registry."""

    def __init__(
        self, labels: ExportLabels, within_seconds: float, time_scale: float = 1.0
    ) -> None:
        if not time_scale > 0:
            raise ValueError(f"time scale must be positive, got {time_scale}")
        self.registry = CollectorRegistry()
        self._lock = Lock()
        self._labels = labels
        self._within = within_seconds / time_scale
        self._time_scale = time_scale
        self._contract = ContractMetrics(labels.contact_center, self.registry)
        self._servers = Gauge(
            "switchboard_simulator_servers",
            "Servers taking contacts in the simulator, per tier.",
            ("contact_center", "workload"),
            registry=self.registry,
        )
        self._queue_length = Gauge(
            "switchboard_simulator_queue_length",
            "Contacts waiting in the simulator, per tier.",
            ("contact_center", "workload"),
            registry=self.registry,
        )

    def offered(self, visit: Visit) -> None:
        if visit.workload == "bot":
            self._contract.arrived(self._labels.channel)
        else:
            self._contract.bot_outcome(self._labels.model_version, "escalated")
            self._contract.bot_handoff(self._labels.channel, HANDOFF_REASON)

    def answered(self, visit: Visit, within_target: bool) -> None:
        assert visit.answered_at is not None
        wait = (visit.answered_at - visit.offered_at) / self._time_scale
        # The engine judged the wait in simulated seconds; the contract judges it again in
        # exported ones, which says the same (both are divided by the time scale).
        self._contract.answered(self._labels.channel, HANDLERS[visit.workload], wait, self._within)
        if visit.workload == "bot":
            self._contract.bot_turn(self._labels.model_version, visit.contact.bot_response_time)

    def abandoned(self, visit: Visit, now: float) -> None:
        waited = (now - visit.offered_at) / self._time_scale
        self._contract.abandoned(self._labels.channel, HANDLERS[visit.workload], waited)

    def completed(self, visit: Visit, now: float) -> None:
        self._contract.handled(
            self._labels.channel,
            HANDLERS[visit.workload],
            visit.handle_time / self._time_scale,
        )
        if visit.workload == "bot" and not visit.contact.escalates:
            self._contract.bot_outcome(self._labels.model_version, "contained")
        if visit.workload == "agents" or not visit.contact.escalates:
            self._contract.resolved(self._labels.channel)

    def record_state(self, workload: Workload, counters: Counters) -> None:
        center = self._labels.contact_center
        self._servers.labels(center, workload).set(counters.ready_servers)
        self._queue_length.labels(center, workload).set(counters.queue_length)

    @contextmanager
    def updating(self) -> Iterator[None]:
        """Hold scrapes off while the queues move on."""
        with self._lock:
            yield

    def serve(self, port: int, address: str) -> MetricsServer:
        """Serve /metrics on a background thread (port 0 picks a free port)."""
        served = CollectorRegistry()
        served.register(_Snapshot(self.registry, self._lock))
        server, thread = start_http_server(port, addr=address, registry=served)
        return MetricsServer(server, thread)


class _Snapshot(Collector):
    """Every metric of `registry`, collected at one moment."""

    def __init__(self, registry: CollectorRegistry, lock: Lock) -> None:
        self._registry = registry
        self._lock = lock

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            return list(self._registry.collect())


class MetricsServer:
    """The running /metrics endpoint."""

    def __init__(self, server: WSGIServer, thread: Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
