"""A customer's line to an `api` gateway: one conversation over REST (docs/dataplane.md, "api
protocol"), as a program talking for a customer would hold it.

Every request is tried again, with the same ids, until the gateway answers it (a refused
connection, a 503 while it restarts); a message counts as acknowledged when its POST answered
with a seq. Replies are read with long-polls after the client's cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from switchboard.dataplane.loadgen.ledger import Ledger, Shown
from switchboard.dataplane.loadgen.tally import Tally
from switchboard.dataplane.loadgen.webchat import DROPS, FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS

logger = logging.getLogger(__name__)

READ_WAIT_SECONDS = 10
ENDED = frozenset({"resolved", "abandoned"})
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class Refused(Exception):
    """The gateway answered a request with an error that trying again will not change."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        # the gateway says `code`, the workspace `error`
        self.code = (body.get("code") or body.get("error")) if isinstance(body, dict) else None


class ApiLine:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        token: str,
        conversation: uuid.UUID,
        customer: str,
        tally: Tally,
    ) -> None:
        self.http = http
        self.base = f"{url.rstrip('/')}/api/v1/conversations"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conversation = conversation
        self.customer = customer
        self.tally = tally
        self.ledger = Ledger()
        self.inbox: asyncio.Queue[Shown] = asyncio.Queue()
        self.ended: str | None = None
        self.closed = asyncio.Event()
        self._reading: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self._request(
            "POST", self.base, json={"id": str(self.conversation), "customer": self.customer}
        )
        self._reading = asyncio.create_task(self._read(), name=f"api {self.customer}")

    async def say(self, text: str) -> None:
        message_id = uuid.uuid4()
        self.ledger.sent(message_id, text, time.monotonic())
        body = {"id": str(message_id), "text": text}
        self.tally.message_sent(again=False)
        try:
            answer = await self._request(
                "POST",
                f"{self.base}/{self.conversation}/messages",
                json=body,
                on_retry=lambda: self.tally.message_sent(again=True),
            )
        except Refused as refusal:
            if refusal.code == "closed":
                self.closed.set()
                return
            raise
        own = self.ledger.acknowledged(message_id, int(answer["seq"]), time.monotonic())
        if own is not None:
            self.tally.message_acknowledged(own)

    async def leave(self) -> str | None:
        if self.ended is None:
            answer = await self._request("DELETE", f"{self.base}/{self.conversation}")
            self.ended = str(answer["state"])
        self.closed.set()
        return self.ended

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading

    async def transcript(self) -> list[tuple[int, uuid.UUID]] | None:
        stored: list[tuple[int, uuid.UUID]] = []
        try:
            while True:
                after = stored[-1][0] if stored else 0
                async with asyncio.timeout(30):
                    answer = await self._request(
                        "GET", f"{self.base}/{self.conversation}/messages", params={"after": after}
                    )
                if not answer["messages"]:
                    return stored
                stored.extend((int(m["seq"]), uuid.UUID(m["id"])) for m in answer["messages"])
        except (TimeoutError, Refused):
            return None

    async def _read(self) -> None:
        """Long-polls after the cursor until the conversation ends."""
        url = f"{self.base}/{self.conversation}/messages"
        while True:
            after = self.ledger.cursor
            answer = await self._request(
                "GET", url, params={"after": after, "wait": READ_WAIT_SECONDS}
            )
            self.ledger.connected(after)
            now = time.monotonic()
            for item in answer["messages"]:
                shown = self.ledger.received(
                    int(item["seq"]), uuid.UUID(item["id"]), item["sender"], item["text"], now
                )
                if shown is not None:
                    self.tally.message_shown(shown, now)
                    self.inbox.put_nowait(shown)
            if answer["state"] in ENDED:
                self.ended = answer["state"]
                self.closed.set()
                return

    async def _request(self, method: str, url: str, **options: Any) -> Any:
        return await call(self.http, method, url, headers=self.headers, tally=self.tally, **options)


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    tally: Tally,
    on_retry: Callable[[], None] | None = None,
    **options: Any,
) -> Any:
    """The JSON body of the answer to a request, once the server gave a 2xx; tries again,
    unchanged, on a drop or a status that says to; raises Refused on any other."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        try:
            async with http.request(method, url, headers=headers, **options) as response:
                body = await response.json(content_type=None)
                if response.status < 300:
                    return body
                refused = Refused(response.status, body)
                tally.refusals[str(refused.code or response.status)] += 1
                if response.status not in RETRIED_STATUSES:
                    raise refused
        except (*DROPS, ValueError) as error:  # ValueError: a body that is not JSON
            logger.debug("%s %s failed: %s", method, url, error)
            tally.reconnects += 1
        await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        if on_retry is not None:
            on_retry()
