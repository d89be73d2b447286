"""The metrics contract (DESIGN.md §3), exported by the simulator for Prometheus to scrape.

An engine observer: each contact event updates the counters and histograms. At `time_scale` S
(a simulator running S times faster than the wall clock) durations are exported in wall-clock
seconds (simulated seconds / S), so that Prometheus' per-second rates and the handle times stay
consistent: rate x handle time is the same offered load as in the simulated world. The
`within_sla` label compares the simulated wait with the simulated threshold. Bot response
latency is the bot's own and is not scaled.

`switchboard_simulator_*` gauges show the simulator's own state (not part of the contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from switchboard.simulator.contacts import Contact
from switchboard.simulator.engine import Counters

WAIT_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
HANDLE_BUCKETS = (10, 30, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 3600)
BOT_RESPONSE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class ExportLabels:
    contact_center: str
    channel: str
    model_version: str


class MetricsExporter:
    """Engine observer holding the contract's metrics in its own registry."""

    def __init__(self, labels: ExportLabels, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time scale must be positive, got {time_scale}")
        self.registry = CollectorRegistry()
        self._time_scale = time_scale
        cc, channel = labels.contact_center, labels.channel
        center_channel = ("contact_center", "channel")
        self._arrived = Counter(
            "switchboard_contacts_arrived",
            "Contacts offered.",
            center_channel,
            registry=self.registry,
        ).labels(cc, channel)
        answered = Counter(
            "switchboard_contacts_answered",
            "Contacts answered by bot or agent.",
            (*center_channel, "within_sla"),
            registry=self.registry,
        )
        self._answered = {
            True: answered.labels(cc, channel, "true"),
            False: answered.labels(cc, channel, "false"),
        }
        self._abandoned = Counter(
            "switchboard_contacts_abandoned",
            "Contacts that left while waiting.",
            center_channel,
            registry=self.registry,
        ).labels(cc, channel)
        self._queue_wait = Histogram(
            "switchboard_queue_wait_seconds",
            "Time from arrival to answer.",
            center_channel,
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        ).labels(cc, channel)
        handle_time = Histogram(
            "switchboard_handle_time_seconds",
            "Talk and wrap-up time.",
            (*center_channel, "handler"),
            buckets=HANDLE_BUCKETS,
            registry=self.registry,
        )
        self._handle_time = {
            "bot": handle_time.labels(cc, channel, "bot"),
            "agent": handle_time.labels(cc, channel, "agent"),
        }
        conversations = Counter(
            "switchboard_bot_conversations",
            "Bot conversations by outcome.",
            ("contact_center", "model_version", "outcome"),
            registry=self.registry,
        )
        self._bot_outcome = {
            "bot": conversations.labels(cc, labels.model_version, "contained"),
            "agent": conversations.labels(cc, labels.model_version, "escalated"),
        }
        self._bot_response = Histogram(
            "switchboard_bot_response_seconds",
            "Bot turn latency.",
            ("contact_center", "model_version"),
            buckets=BOT_RESPONSE_BUCKETS,
            registry=self.registry,
        ).labels(cc, labels.model_version)
        self._servers = Gauge(
            "switchboard_simulator_servers",
            "Servers taking contacts in the simulator.",
            ("contact_center",),
            registry=self.registry,
        ).labels(cc)
        self._queue_length = Gauge(
            "switchboard_simulator_queue_length",
            "Contacts waiting in the simulator.",
            ("contact_center",),
            registry=self.registry,
        ).labels(cc)

    def arrived(self, contact: Contact) -> None:
        self._arrived.inc()
        if contact.handler == "agent":
            # Which contacts the bot hands over is drawn at arrival, and the bot's part of them
            # is not modelled: the handover is now. The agents' arrivals (the escalations) are
            # then what is offered to them, whatever capacity answers it.
            self._bot_outcome["agent"].inc()

    def answered(self, contact: Contact, within_target: bool) -> None:
        assert contact.answer_time is not None
        self._answered[within_target].inc()
        self._queue_wait.observe((contact.answer_time - contact.arrival_time) / self._time_scale)
        self._bot_response.observe(contact.bot_response_time)

    def abandoned(self, contact: Contact, now: float) -> None:
        self._abandoned.inc()

    def completed(self, contact: Contact) -> None:
        self._handle_time[contact.handler].observe(contact.handle_time / self._time_scale)
        if contact.handler == "bot":
            self._bot_outcome["bot"].inc()

    def record_state(self, counters: Counters) -> None:
        self._servers.set(counters.ready_servers)
        self._queue_length.set(counters.queue_length)

    def serve(self, port: int, address: str) -> MetricsServer:
        """Serve /metrics on a background thread (port 0 picks a free port)."""
        server, thread = start_http_server(port, addr=address, registry=self.registry)
        return MetricsServer(server, thread)


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
