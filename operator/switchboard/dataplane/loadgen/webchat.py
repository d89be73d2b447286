"""A customer's line to a webchat gateway: one conversation over a WebSocket, kept up across
drops (docs/dataplane.md, "webchat protocol").

Like the customer page: a drop is followed by a reconnect with backoff and a `resume` after the
client's cursor; every message not acknowledged is sent again with its id; a message already
shown is not shown again. What the server pushed, and whether it kept its promises doing so,
goes through the conversation's ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from typing import Any

import aiohttp

from switchboard.dataplane.loadgen.ledger import Ledger, Shown
from switchboard.dataplane.loadgen.tally import Tally

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 5.0
RESEND_GAP_SECONDS = 0.25
"""Between resent messages after a reconnect, as the page does (the gateway allows bursts of
10 frames, then 5 a second)."""
TRANSCRIPT_QUIET_SECONDS = 3.0
"""After the fill of an open conversation, or before `started` from a busy gateway."""
TRANSCRIPT_ATTEMPTS = 5
# A connection that could not be made or broke: try again.
DROPS = (aiohttp.ClientError, OSError, asyncio.TimeoutError, ConnectionResetError)


class Ended(Exception):
    """The conversation ended (the line cannot carry more messages)."""


class WebchatLine:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        conversation: uuid.UUID,
        customer: str,
        tally: Tally,
    ) -> None:
        self.http = http
        self.url = url
        self.conversation = conversation
        self.customer = customer
        self.tally = tally
        self.ledger = Ledger()
        self.inbox: asyncio.Queue[Shown] = asyncio.Queue()
        self.ended: str | None = None
        """How the server said the conversation ended."""
        self.closed = asyncio.Event()
        """The conversation can take no more messages (it ended, or the server said so)."""
        self._started = False
        self._ended = asyncio.Event()
        self._live = asyncio.Event()
        self._leaving = False
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._sent_here: set[uuid.UUID] = set()
        """Messages sent on the current connection."""
        self._transmitted: set[uuid.UUID] = set()
        self._task: asyncio.Task[None] | None = None
        self._catching_up: asyncio.Task[None] | None = None
        self._backoff = FIRST_BACKOFF_SECONDS

    async def open(self) -> None:
        """Starts the conversation; returns once the gateway said it started."""
        self._task = asyncio.create_task(self._keep_connected(), name=f"webchat {self.customer}")
        await self._live.wait()

    async def say(self, text: str) -> None:
        message_id = uuid.uuid4()
        self.ledger.sent(message_id, text, time.monotonic())
        if self._live.is_set():
            await self._send_message(message_id)

    async def leave(self) -> str | None:
        """Ends the conversation (an `end` frame, sent again after a reconnect); how it
        ended, once the gateway said so."""
        self._leaving = True
        if self._live.is_set() and self.ended is None:
            await self._send({"type": "end"})
        await self._ended.wait()
        return self.ended

    async def close(self) -> None:
        for task in (self._task, self._catching_up):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._socket is not None:
            await self._socket.close()

    async def transcript(self) -> list[tuple[int, uuid.UUID]] | None:
        """The conversation's messages as stored (a resume after 0 on a connection of its
        own, read until the gateway says it ended or goes quiet); None if it cannot be read."""
        for attempt in range(TRANSCRIPT_ATTEMPTS):
            try:
                return await self._read_transcript()
            except DROPS:
                await asyncio.sleep(FIRST_BACKOFF_SECONDS * 2**attempt)
        return None

    async def _read_transcript(self) -> list[tuple[int, uuid.UUID]]:
        stored: list[tuple[int, uuid.UUID]] = []
        started = False
        async with self.http.ws_connect(self.url, autoping=True) as socket:
            await socket.send_str(
                json.dumps({"type": "resume", "conversation": str(self.conversation), "after": 0})
            )
            while True:
                try:
                    frame = await socket.receive(timeout=TRANSCRIPT_QUIET_SECONDS)
                except TimeoutError:
                    if started:
                        return stored  # an open conversation: its fill is over
                    raise
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    raise aiohttp.ClientError(f"the transcript's connection closed ({frame})")
                body = json.loads(frame.data)
                if body["type"] == "started":
                    started = True
                elif body["type"] == "message":
                    stored.append((int(body["seq"]), uuid.UUID(body["id"])))
                elif body["type"] == "ended":
                    return stored
                elif body["type"] == "error":
                    raise aiohttp.ClientError(f"the gateway refused the transcript: {body}")

    # --- the connection -----------------------------------------------------------------

    async def _keep_connected(self) -> None:
        while not self.closed.is_set():
            try:
                await self._connection()
            except DROPS as error:
                logger.debug("%s: connection lost: %s", self.customer, error)
            if self.closed.is_set():
                return
            self._live.clear()
            self.tally.reconnects += 1
            await asyncio.sleep(self._backoff * random.uniform(0.5, 1.0))
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)

    async def _connection(self) -> None:
        async with self.http.ws_connect(self.url, autoping=True) as socket:
            self._socket = socket
            self._sent_here = set()
            if self._started:
                after = self.ledger.cursor
                first = {"type": "resume", "conversation": str(self.conversation), "after": after}
            else:
                after = 0  # a start of a conversation started before fills from 0
                first = {
                    "type": "start",
                    "conversation": str(self.conversation),
                    "customer": self.customer,
                }
            self.ledger.connected(after)
            await socket.send_str(json.dumps(first))
            async for frame in socket:
                if frame.type is aiohttp.WSMsgType.TEXT:
                    await self._receive(json.loads(frame.data))
                elif frame.type is aiohttp.WSMsgType.ERROR:
                    raise aiohttp.ClientError(str(socket.exception()))
            if socket.close_code not in (None, 1000):
                logger.debug("%s: closed with %s", self.customer, socket.close_code)

    async def _receive(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        now = time.monotonic()
        if kind == "started":
            self._started = True
            self._backoff = FIRST_BACKOFF_SECONDS
            self._catching_up = asyncio.create_task(self._catch_up())
        elif kind == "ack":
            own = self.ledger.acknowledged(uuid.UUID(frame["id"]), int(frame["seq"]), now)
            if own is not None:
                self.tally.message_acknowledged(own)
        elif kind == "message":
            shown = self.ledger.received(
                int(frame["seq"]), uuid.UUID(frame["id"]), frame["sender"], frame["text"], now
            )
            if shown is not None:
                self.tally.message_shown(shown, now)
                self.inbox.put_nowait(shown)
        elif kind == "ended":
            self.ended = frame["state"]
            self.closed.set()
            self._ended.set()
        elif kind == "error":
            code = str(frame.get("code"))
            self.tally.refusals[code] += 1
            if code == "closed":  # it ended without us: nothing more can be said
                self.closed.set()

    async def _catch_up(self) -> None:
        """After `started`: sends again what was not acknowledged, then whatever comes."""
        try:
            while unsent := [m for m in self.ledger.outbox() if m not in self._sent_here]:
                await self._send_message(unsent[0])
                await asyncio.sleep(RESEND_GAP_SECONDS)
            self._live.set()
            if self._leaving and self.ended is None:
                await self._send({"type": "end"})
        except DROPS:
            pass  # the connection broke again: the next one catches up

    async def _send_message(self, message_id: uuid.UUID) -> None:
        self.tally.message_sent(again=message_id in self._transmitted)
        self._transmitted.add(message_id)
        self._sent_here.add(message_id)
        text = self.ledger.own[message_id].text
        await self._send({"type": "message", "id": str(message_id), "text": text})

    async def _send(self, frame: dict[str, Any]) -> None:
        socket = self._socket
        if socket is None or socket.closed:
            return  # sent again after the reconnect
        with contextlib.suppress(*DROPS):
            await socket.send_str(json.dumps(frame))
