"""A load run: customers arrive on the plan's schedule and play their script against the
gateways while the agents work the workspace; then the customers still there get a while to
finish, and the rest leave. What happened is in the tally."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from switchboard.dataplane.bot.corpus import Corpus
from switchboard.dataplane.loadgen.agents import Agent
from switchboard.dataplane.loadgen.answers import Answers
from switchboard.dataplane.loadgen.customers import LEAVE_SECONDS, Line, play
from switchboard.dataplane.loadgen.plan import People
from switchboard.dataplane.loadgen.rest import ApiLine
from switchboard.dataplane.loadgen.script import Script, choose_need
from switchboard.dataplane.loadgen.tally import Tally
from switchboard.dataplane.loadgen.webchat import WebchatLine
from switchboard.dataplane.waiting import set_within

FINISH_SECONDS = LEAVE_SECONDS + 30.0
"""After the drain: time for the last customers to leave and check their transcripts."""


@dataclass(frozen=True)
class Endpoints:
    webchat: str | None
    """A webchat gateway's WebSocket (ws://HOST:PORT/ws)."""
    api: str | None
    """An api gateway (http://HOST:PORT)."""
    api_token: str | None
    agents: str | None
    """The agent workspace (http://HOST:PORT)."""
    agents_token: str | None


def websocket_url(url: str) -> str:
    """A gateway's address as its WebSocket's: http(s) becomes ws(s); no path is `/ws`."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit(
        (
            scheme,
            parts.netloc,
            parts.path if parts.path not in ("", "/") else "/ws",
            parts.query,
            "",
        )
    )


@dataclass(frozen=True)
class Plan:
    arrivals: Iterable[float]
    """When customers arrive, in seconds from the start, in order."""
    duration: float
    people: People
    corpus: Corpus
    answers: Answers
    api_share: float
    """Of the customers, the share who come through the api channel (when both are there)."""
    agents: int
    agent_capacity: int
    within_seconds: float
    seed: int
    progress_seconds: float
    """0: no progress lines."""
    drain_seconds: float


class LoadRun:
    def __init__(
        self,
        plan: Plan,
        endpoints: Endpoints,
        say: Callable[[str], None] = print,
        record: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """`say` gets the progress lines; `record` each conversation's acknowledged and
        shown messages, once its customer is done."""
        self.plan = plan
        self.endpoints = endpoints
        self.say = say
        self.record = record
        self.tally = Tally(plan.within_seconds)
        self.interrupted = asyncio.Event()
        """Set it to end the arrivals now (the drain still follows)."""
        self._customers: set[asyncio.Task[None]] = set()
        self._leave = asyncio.Event()
        self._started = time.monotonic()

    async def run(self) -> dict[str, Any]:
        plan, endpoints = self.plan, self.endpoints
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            off_duty = asyncio.Event()
            agents = [
                asyncio.create_task(
                    Agent(
                        http,
                        endpoints.agents or "",
                        endpoints.agents_token or "",
                        f"loadgen-agent-{n}",
                        plan.agent_capacity,
                        plan.people,
                        random.Random(f"{plan.seed}/agent/{n}"),
                        self.tally,
                    ).run(off_duty)
                )
                for n in range(1, plan.agents + 1)
            ]
            progress = asyncio.create_task(self._progress())
            self._started = time.monotonic()
            try:
                await self._arrivals(http)
                await self._until(self._started + plan.duration)
                if self._customers:
                    await asyncio.wait(self._customers, timeout=plan.drain_seconds)
                self._leave.set()
                if self._customers:
                    await asyncio.wait(self._customers, timeout=FINISH_SECONDS)
            finally:
                for task in self._customers:
                    task.cancel()
                off_duty.set()
                await asyncio.gather(*agents, *self._customers, return_exceptions=True)
                progress.cancel()
        return self.tally.report(time.monotonic() - self._started)

    async def _until(self, moment: float) -> None:
        """Sleeps until `moment` (monotonic), or until interrupted."""
        await set_within(self.interrupted, moment - time.monotonic())

    async def _arrivals(self, http: aiohttp.ClientSession) -> None:
        plan, endpoints = self.plan, self.endpoints
        for number, offset in enumerate(plan.arrivals, start=1):
            await self._until(self._started + offset)
            if self.interrupted.is_set():
                return
            rng = random.Random(f"{plan.seed}/customer/{number}")
            need, opening = choose_need(plan.corpus, rng)
            script = Script(plan.corpus, plan.answers, need, opening, rng)
            customer, conversation = f"loadgen-{number}", uuid.uuid4()
            line: Line
            by_api = endpoints.api is not None and (
                endpoints.webchat is None or rng.random() < plan.api_share
            )
            if by_api:
                assert endpoints.api is not None and endpoints.api_token is not None
                line = ApiLine(
                    http, endpoints.api, endpoints.api_token, conversation, customer, self.tally
                )
            else:
                assert endpoints.webchat is not None
                line = WebchatLine(http, endpoints.webchat, conversation, customer, self.tally)
            task = asyncio.create_task(
                play(line, script, plan.people, rng, self.tally, self._leave, self.record)
            )
            self._customers.add(task)
            task.add_done_callback(self._customers.discard)

    async def _progress(self) -> None:
        if not self.plan.progress_seconds:
            return
        while True:
            await asyncio.sleep(self.plan.progress_seconds)
            elapsed = time.monotonic() - self._started
            self.say(self.tally.progress(elapsed, active=len(self._customers)))
