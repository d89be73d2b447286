"""An agent of a load run, through the workspace's REST API (docs/dataplane.md, "The agents
tier"): signs in with the workspace token, takes every offer, greets the customer, answers each
of their messages after a while, and resolves the conversation once its handle time is over
(unless the customer left first)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from typing import Any

import aiohttp

from switchboard.dataplane.loadgen.plan import People
from switchboard.dataplane.loadgen.rest import Refused, call
from switchboard.dataplane.loadgen.tally import Tally

logger = logging.getLogger(__name__)

OFFERS_WAIT_SECONDS = 10.0
MESSAGES_WAIT_SECONDS = 20.0
CHANNEL_TYPES = ("webchat", "api")
REPLIES = (
    "Thanks, I have it in front of me now. Give me a moment to check.",
    "That's sorted for you. Is there anything else?",
    "You're welcome. Have a good day!",
)


class Agent:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        token: str,
        agent_id: str,
        capacity: int,
        people: People,
        rng: random.Random,
        tally: Tally,
    ) -> None:
        self.http = http
        self.base = f"{url.rstrip('/')}/api/v1/agents/{agent_id}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.agent_id = agent_id
        self.capacity = capacity
        self.people = people
        self.rng = rng
        self.tally = tally
        self._held: dict[str, asyncio.Task[None]] = {}

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        return await call(
            self.http, method, self.base + path, headers=self.headers, tally=self.tally, **options
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Works until `stop`; conversations in hand are left to their customers."""
        name = self.agent_id.replace("-", " ").title()
        capacity = dict.fromkeys(CHANNEL_TYPES, self.capacity)
        await self._call(
            "POST", "/sign-in", json={"name": name, "capacity": capacity, "available": True}
        )
        try:
            while not stop.is_set():
                polling = asyncio.ensure_future(
                    self._call("GET", "/offers", params={"wait": OFFERS_WAIT_SECONDS})
                )
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait([polling, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not polling.done():
                    polling.cancel()
                    break
                for offer in polling.result()["offers"]:
                    conversation = offer["conversation"]
                    if conversation not in self._held:
                        self._held[conversation] = asyncio.create_task(self._handle(conversation))
                for done in [c for c, task in self._held.items() if task.done()]:
                    del self._held[done]
        finally:
            for task in self._held.values():
                task.cancel()
            await asyncio.gather(*self._held.values(), return_exceptions=True)

    async def _handle(self, conversation: str) -> None:
        try:
            await self._serve(conversation)
        except Refused as refusal:  # the offer expired, the customer left: next one
            self.tally.agent_events[f"refused_{refusal.code}"] += 1
        except Exception as error:
            self.tally.failures[f"agent_{type(error).__name__}"] += 1
            logger.exception("agent %s failed on %s", self.agent_id, conversation)

    async def _serve(self, conversation: str) -> None:
        path = f"/conversations/{conversation}"
        accepted = await self._call("POST", path + "/accept")
        self.tally.agent_events["accepted"] += 1
        resolve_at = time.monotonic() + self.people.handle_time.sample(self.rng)
        cursor = max((m["seq"] for m in accepted["messages"]), default=0)
        said = 0
        await self._say(path, said)
        while (remaining := resolve_at - time.monotonic()) > 0:
            answer = await self._call(
                "GET",
                path + "/messages",
                params={"after": cursor, "wait": round(min(remaining, MESSAGES_WAIT_SECONDS), 3)},
            )
            if answer["state"] != "agent":
                self.tally.agent_events["customer_left"] += 1
                return
            messages = answer["messages"]
            cursor = max((m["seq"] for m in messages), default=cursor)
            if any(m["sender"] == "customer" for m in messages):
                await asyncio.sleep(min(self.people.agent_reply.sample(self.rng), remaining))
                said = min(said + 1, len(REPLIES) - 1)
                await self._say(path, said)
        with contextlib.suppress(Refused):  # the customer may have left meanwhile
            await self._call("POST", path + "/resolve")
            self.tally.agent_events["resolved"] += 1

    async def _say(self, path: str, line: int) -> None:
        text = REPLIES[line] if line else f"Hello, this is {self.agent_id}. {REPLIES[0]}"
        await self._call("POST", path + "/messages", json={"id": str(uuid.uuid4()), "text": text})
        self.tally.agent_events["replies"] += 1
