"""The agents tier as a data-plane role: its routes (the UI, its WebSocket, the REST API), and
what runs once the store and the bus are there (the router, the screens' refresh, the nudges)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from prometheus_client import Gauge

from switchboard.dataplane.agents import websocket
from switchboard.dataplane.agents.api import PREFIX, api
from switchboard.dataplane.agents.hub import Hub
from switchboard.dataplane.agents.router import Router
from switchboard.dataplane.agents.routing import Policy
from switchboard.dataplane.agents.workspace import Workspace
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.topology import ALL_AGENT_DELIVERIES
from switchboard.dataplane.wiring import AgentsWiring

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Tier:
    """The parts that exist once the role started."""

    workspace: Workspace
    hub: Hub
    router: Router


class AgentsRole:
    name = "agents"

    def __init__(self, wiring: AgentsWiring) -> None:
        self.wiring = wiring
        self._tier: Tier | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def tier(self) -> Tier:
        """The started parts; a request before the start is answered 503."""
        if self._tier is None:
            raise web.HTTPServiceUnavailable(text="the workspace is starting\n")
        return self._tier

    def routes(self, app: web.Application) -> None:
        async def index(_: web.Request) -> web.FileResponse:
            return web.FileResponse(STATIC / "index.html")

        async def socket(request: web.Request) -> web.WebSocketResponse:
            return await websocket.serve(request, self.tier(), self.wiring.agent_token)

        app.router.add_get("/", index)
        app.router.add_static("/static", STATIC)
        app.router.add_get("/ws", socket)
        app.add_subapp(PREFIX, api(self.wiring.agent_token, self.tier))

    async def start(self, runtime: Runtime) -> None:
        policy = Policy.from_spec(self.wiring.routing)
        if policy.queues:
            # "": contacts no queue takes, where there is no default queue.
            runtime.metrics.routing_queues(
                [*policy.queues, *([""] if not policy.default_queue else [])]
            )
        router = Router(runtime, self.wiring.offer_timeout_seconds, policy)
        workspace = Workspace(runtime, self.wiring, policy, router.wake)
        hub = Hub(workspace, router)
        center = runtime.wiring.contact_center
        Gauge(
            "switchboard_agents_seats",
            "Agents one workspace replica is sized for (spec.agents.seatsPerReplica).",
            ("contact_center",),
            registry=runtime.registry,
        ).labels(center).set(self.wiring.seats_per_replica)
        Gauge(
            "switchboard_agents_connected",
            "Agents with a connection to this workspace replica.",
            ("contact_center",),
            registry=runtime.registry,
        ).labels(center).set_function(lambda: len(hub.connections))
        await runtime.bus.subscribe_deliveries([ALL_AGENT_DELIVERIES], hub.on_delivery)
        runtime.bus.on_reconnect(hub.resync)
        self._tasks = [asyncio.create_task(router.run()), asyncio.create_task(hub.run())]
        self._tier = Tier(workspace, hub, router)
        router.wake()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._tier is not None:
            await self._tier.hub.close()

    def ready(self) -> bool:
        return self._tier is not None
