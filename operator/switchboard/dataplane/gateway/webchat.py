"""The webchat channel: customers' WebSockets, the customer page and the embeddable script.

One WebSocket carries one conversation (docs/dataplane.md, "webchat protocol"). The handler
reads the client's frames one at a time; pushes to the client (deliveries, gap fills, acks)
go through the connection's lock, in seq order, so each message reaches it once. A connection
costs no task of its own beyond aiohttp's handler, and nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from importlib import resources
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from switchboard.dataplane.conversation import OPEN_STATES
from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway import protocol, survey
from switchboard.dataplane.gateway.conversations import OUTAGES, Conversations
from switchboard.dataplane.gateway.cursor import Cursor, Next
from switchboard.dataplane.gateway.hub import Hub
from switchboard.dataplane.gateway.presence import Presence
from switchboard.dataplane.gateway.protocol import Code, End, ProtocolError, Resume, Send, Start
from switchboard.dataplane.gateway.ratelimit import TokenBucket
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Conversation, Store

logger = logging.getLogger(__name__)

FILL_BATCH = 500
HEARTBEAT_SECONDS = 30.0
"""Pings find connections that died without a close (a phone losing its network)."""
CLOSE_CODES = {
    Code.TOO_LARGE: WSCloseCode.MESSAGE_TOO_BIG,
    Code.UNAVAILABLE: WSCloseCode.TRY_AGAIN_LATER,
}
KEEP_OPEN = frozenset({Code.CLOSED})
"""Errors after which the connection stays usable; after any other, it is closed."""
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


async def send_frame(socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
    """Sends a frame, unless the client is gone (it resumes from its cursor when it is back)."""
    if socket.closed:
        return
    with contextlib.suppress(ConnectionResetError):
        await socket.send_str(json.dumps(frame))


class Session:
    """One connection's view of its conversation: what was pushed, and pushing more in order."""

    def __init__(
        self, socket: web.WebSocketResponse, store: Store, conversation: Conversation, after: int
    ) -> None:
        self.socket = socket
        self.store = store
        self.conversation = conversation
        self.cursor = Cursor(position=after)
        self.lock = asyncio.Lock()
        self.sending: set[uuid.UUID] = set()
        """Ids of the client's messages being stored and handed on: acknowledged, never
        pushed back (a delivery of one can beat its acknowledgement)."""

    async def send(self, frame: dict[str, Any]) -> None:
        await send_frame(self.socket, frame)

    async def deliver(self, delivery: Delivery) -> None:
        if delivery.id in self.sending:
            return
        async with self.lock:
            step = self.cursor.next(delivery.seq)
            if step is Next.PUSH:
                await self.send(protocol.message(delivery.model_dump(mode="json")))
                self.cursor.has(delivery.seq)
            elif step is Next.FILL:
                await self.fill()
            if delivery.ended is not None and step is not Next.DROP:
                await self.send(protocol.ended(delivery.ended, await self.survey_open()))

    async def survey_open(self) -> bool:
        async with self.store.pool.acquire() as connection:
            return await survey.is_open(connection, self.conversation.id)

    async def resync(self) -> None:
        async with self.lock:
            await self.fill()

    async def acknowledge(self, message_id: uuid.UUID, seq: int) -> None:
        async with self.lock:
            await self.send(protocol.ack(message_id, seq))
            self.cursor.has(seq)
            if not self.cursor.complete:
                await self.fill()  # something came before it that the client lacks

    async def fill(self) -> None:
        """Pushes what the store holds after the cursor that the client lacks (lock held)."""
        after = self.cursor.position
        while True:
            messages = await self.store.messages_after(self.conversation.id, after, FILL_BATCH)
            for message in messages:
                if message.id in self.sending:
                    continue  # its acknowledgement moves the cursor over it
                if self.cursor.next(message.seq) is not Next.DROP:
                    await self.send(protocol.message(message.as_json()))
                    self.cursor.has(message.seq)
            if len(messages) < FILL_BATCH:
                return
            after = messages[-1].seq


class Connection:
    """A customer's WebSocket, from its first frame to its close."""

    def __init__(self, channel: Webchat, socket: web.WebSocketResponse) -> None:
        self.channel = channel
        self.socket = socket
        self.bucket = TokenBucket()
        self.session: Session | None = None

    async def serve(self) -> None:
        async for frame in self.socket:
            if frame.type is WSMsgType.TEXT:
                if not await self.receive(frame.data):
                    return
            elif frame.type is WSMsgType.BINARY:
                await self.refuse(ProtocolError(Code.BAD_REQUEST, "frames are JSON text"))
                return

    async def receive(self, raw: str) -> bool:
        """Handles one frame; returns whether the connection stays open."""
        try:
            if not self.bucket.take(time.monotonic()):
                raise ProtocolError(Code.RATE_LIMITED, "too many frames; slow down")
            await self.handle(protocol.parse_frame(raw))
        except ProtocolError as problem:
            return await self.refuse(problem)
        except OUTAGES as error:
            logger.warning("a webchat frame could not be handled: %s", error)
            return await self.refuse(
                ProtocolError(Code.UNAVAILABLE, "the service is briefly unavailable; reconnect")
            )
        return not self.socket.closed

    async def refuse(self, problem: ProtocolError) -> bool:
        frame = protocol.error(problem)
        if self.session is not None:
            await self.session.send(frame)  # in line with the session's pushes
        else:
            await send_frame(self.socket, frame)
        if problem.code in KEEP_OPEN:
            return True
        code = CLOSE_CODES.get(problem.code, WSCloseCode.POLICY_VIOLATION)
        await self.socket.close(code=code, message=problem.code.value.encode())
        return False

    async def handle(self, frame: protocol.Frame) -> None:
        conversations = self.channel.conversations
        if isinstance(frame, Start | Resume):
            if self.session is not None:
                raise ProtocolError(Code.ALREADY_STARTED, "this connection has its conversation")
            if isinstance(frame, Start):
                conversation, new = await conversations.start(
                    frame.conversation,
                    customer=frame.customer,
                    attributes=frame.attributes,
                    webhook=None,
                )
                after = 0
            else:
                new = False
                conversation = await conversations.find(frame.conversation)
                if frame.after > conversation.next_seq:
                    raise ProtocolError(
                        Code.BAD_REQUEST,
                        f"after={frame.after} is past the conversation's last message "
                        f"({conversation.next_seq})",
                    )
                after = frame.after
            await self.attach(conversation, after, new=new)
            return
        session = self.session
        if session is None:
            raise ProtocolError(Code.NOT_STARTED, "send start or resume first")
        if isinstance(frame, Send):
            session.sending.add(frame.id)
            try:
                message = await conversations.send(session.conversation, frame.id, frame.text)
                await session.acknowledge(message.id, message.seq)
            finally:
                session.sending.discard(frame.id)
        elif isinstance(frame, End):
            state = await conversations.leave(session.conversation.id)
            await session.send(protocol.ended(state))
            await self.socket.close()

    async def attach(self, conversation: Conversation, after: int, *, new: bool) -> None:
        """Binds the connection to its conversation: says so, pushes what the client lacks
        after `after`, then whatever is stored next. (A conversation it just started holds
        no message yet.)"""
        session = Session(self.socket, self.channel.runtime.store, conversation, after)
        if conversation.state in OPEN_STATES:
            await self.channel.presence.seen([conversation.id])
        async with session.lock:
            # Listening before reading the store: nothing stored after the read is missed.
            self.channel.hub.add(conversation.id, session)
            self.session = session
            await session.send(protocol.started(conversation.id, conversation.state))
            if not new:
                await session.fill()
            if conversation.state not in OPEN_STATES:
                await session.send(protocol.ended(conversation.state, await session.survey_open()))

    async def closed(self) -> None:
        session = self.session
        if session is None:
            return
        self.channel.hub.remove(session.conversation.id, session)
        if self.channel.stopping:
            return  # everyone's presence was noted at once
        try:
            # The grace runs from now: the customer was here until this moment.
            await self.channel.presence.seen([session.conversation.id])
        except OUTAGES as error:
            logger.warning("could not note a webchat customer's disconnect: %s", error)


class Webchat:
    """The webchat channel of a gateway."""

    def __init__(self, conversations: Conversations, hub: Hub, grace_seconds: float) -> None:
        self.conversations = conversations
        self.hub = hub
        self.presence = Presence(conversations, hub.conversations, grace_seconds)
        self.connections: set[Connection] = set()
        self.stopping = False
        self._page = _static("index.html")
        self._script = _static("webchat.js")

    @property
    def runtime(self) -> Runtime:
        return self.conversations.runtime

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/webchat.js", self.script)
        app.router.add_get("/ws", self.websocket)

    def start(self) -> None:
        self.presence.start()

    async def stop(self) -> None:
        """Notes every connected customer as seen now (the grace runs from here), closes their
        connections as going away (their clients reconnect to another replica and resume),
        and stops refreshing presence."""
        self.stopping = True
        await self.presence.stop()
        try:
            await self.presence.seen(self.hub.conversations())
        except OUTAGES as error:
            logger.warning("could not note the connected customers' presence: %s", error)
        await asyncio.gather(
            *(c.socket.close(code=WSCloseCode.GOING_AWAY) for c in list(self.connections)),
            return_exceptions=True,
        )

    async def page(self, _: web.Request) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", headers=PAGE_HEADERS)

    async def script(self, _: web.Request) -> web.Response:
        # Embedded by other sites' pages: readable from any origin.
        headers = {**PAGE_HEADERS, "Access-Control-Allow-Origin": "*"}
        return web.Response(body=self._script, content_type="text/javascript", headers=headers)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(
            heartbeat=HEARTBEAT_SECONDS,
            max_msg_size=protocol.MAX_FRAME_BYTES,
            # Per-connection compression costs hundreds of KiB of zlib state per customer.
            compress=False,
        )
        await socket.prepare(request)
        connection = Connection(self, socket)
        self.connections.add(connection)
        try:
            await connection.serve()
        finally:
            self.connections.discard(connection)
            await connection.closed()
        return socket
