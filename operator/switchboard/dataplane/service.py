"""What every data-plane role runs on: the wiring, the store, the bus, an HTTP server with
`/healthz` and `/readyz`, the metrics contract on its own port, and a graceful stop on SIGTERM.

A role is a `Role`: it adds its routes, starts its consumers once the store and the bus are
there, and stops them first when the process is asked to stop. The store and the broker may
come up after the role: it waits for them (not ready meanwhile) instead of crashing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import asyncpg
import uvloop
from aio_pika.exceptions import AMQPConnectionError
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from switchboard.contract import ContractMetrics
from switchboard.dataplane.bus import Bus
from switchboard.dataplane.masking import MaskingFilter
from switchboard.dataplane.store import Store
from switchboard.dataplane.tls import server_ssl_context
from switchboard.dataplane.topology import Topology
from switchboard.dataplane.wiring import Wiring

logger = logging.getLogger(__name__)

CONNECT_RETRY_SECONDS = 1.0
T = TypeVar("T")
STOP_GRACE_SECONDS = 10.0


@dataclass
class Runtime:
    """The connections and instruments a role works with."""

    wiring: Wiring
    store: Store
    bus: Bus
    metrics: ContractMetrics
    registry: CollectorRegistry = field(default=REGISTRY)

    @property
    def topology(self) -> Topology:
        return self.bus.topology


class Role(Protocol):
    name: str

    def routes(self, app: web.Application) -> None:
        """Adds the role's HTTP and WebSocket routes (before the server starts)."""

    async def start(self, runtime: Runtime) -> None:
        """Starts consumers and loops, once the store and the bus are connected."""

    async def stop(self) -> None:
        """Stops taking work and lets what is in flight finish (within the stop grace)."""

    def ready(self) -> bool:
        """Whether the role can serve (besides the store and bus being up)."""


async def _retrying(what: str, connect: Callable[[], Awaitable[T]]) -> T:
    """`connect()` until it succeeds, saying now and then what it waits for."""
    attempt = 0
    while True:
        try:
            return await connect()
        except (OSError, asyncpg.PostgresError, AMQPConnectionError, TimeoutError) as error:
            if attempt % 10 == 0:
                logger.warning("waiting for %s: %s", what, error)
            attempt += 1
            await asyncio.sleep(CONNECT_RETRY_SECONDS)


def configure_logging(wiring: Wiring, *, verbose: bool = False) -> None:
    """One line per record on stderr, personal data masked unless the spec turns masking off;
    aiohttp's line per request only when verbose."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if wiring.pii_masking:
        for handler in logging.getLogger().handlers:
            handler.addFilter(MaskingFilter())
    if not verbose:
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def process_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment a role reads its wiring from: the process's, with a replica name of
    its own when no pod name was given (a role run by hand, outside a cluster)."""
    return {"SWITCHBOARD_POD_NAME": f"{socket.gethostname()}-{os.getpid()}", **environment}


def serve(wiring: Wiring, role: Role) -> None:
    """Runs `role` until SIGTERM or SIGINT, on uvloop: its transports and loop are C, where
    asyncio's selector loop spends a good part of a role's CPU per message in Python."""
    uvloop.run(Service(wiring, role).run())


class Service:
    """Runs one role until SIGTERM or SIGINT."""

    def __init__(self, wiring: Wiring, role: Role, registry: CollectorRegistry = REGISTRY) -> None:
        self.wiring = wiring
        self.role = role
        self.registry = registry
        self.runtime: Runtime | None = None
        self._stopping = asyncio.Event()

    def _ready(self) -> bool:
        runtime = self.runtime
        return (
            runtime is not None
            and not self._stopping.is_set()
            and runtime.bus.connected
            and self.role.ready()
        )

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        if self._ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)

        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self.role.routes(app)
        metrics_app = web.Application()
        metrics_app.router.add_get("/metrics", self._metrics)
        runners = [
            web.AppRunner(app, shutdown_timeout=STOP_GRACE_SECONDS),
            web.AppRunner(metrics_app),
        ]
        ports = (self.wiring.http_port, self.wiring.metrics_port)
        # TLS on the http port only: Prometheus scrapes the metrics port inside the cluster.
        contexts = (server_ssl_context(self.wiring.tls), None)
        for runner, port, context in zip(runners, ports, contexts, strict=True):
            await runner.setup()
            site = web.TCPSite(runner, "0.0.0.0", port, ssl_context=context)
            await site.start()
        http_port, metrics_port = (
            runner.addresses[0][1]
            for runner in runners  # the ports bound (0 picks a free one)
        )
        logger.info(
            "%s of %s/%s: %s on port %s, metrics on port %s",
            self.role.name,
            self.wiring.namespace,
            self.wiring.contact_center,
            "https" if self.wiring.tls else "http",
            http_port,
            metrics_port,
        )

        starting = asyncio.create_task(self._connect_and_start())
        await self._stopping.wait()
        logger.info("stopping %s", self.role.name)
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        if self.runtime is not None:
            await self.role.stop()
        for runner in runners:
            await runner.cleanup()
        if self.runtime is not None:
            await self.runtime.bus.close()
            await self.runtime.store.close()

    async def _connect_and_start(self) -> None:
        wiring = self.wiring
        store = await _retrying(
            "the database", lambda: Store.connect(wiring.database_uri, ca=wiring.database_ca)
        )
        await store.migrate()
        bus = await _retrying(
            "the message queue",
            lambda: Bus.connect(wiring.queue_uri, Topology(wiring.prefix), ca=wiring.queue_ca),
        )
        self.runtime = Runtime(
            wiring, store, bus, ContractMetrics(wiring.contact_center, self.registry), self.registry
        )
        await self.role.start(self.runtime)
        logger.info("%s is serving", self.role.name)
