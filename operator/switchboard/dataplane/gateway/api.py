"""The `api` channel: REST for programs that talk for customers (docs/dataplane.md, "api
protocol").

Every request carries the channel's bearer token (compared in constant time). A read may wait
for the next message (long-poll): the request registers with the hub like a connection and
wakes on a delivery of its conversation, or answers empty when its wait is over.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from switchboard.dataplane.conversation import OPEN_STATES
from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway import protocol
from switchboard.dataplane.gateway.conversations import OUTAGES, Conversations
from switchboard.dataplane.gateway.hub import Hub
from switchboard.dataplane.gateway.protocol import (
    Code,
    MessageRequest,
    ProtocolError,
    StartRequest,
)
from switchboard.dataplane.gateway.webhook import ApiWebhook, Webhooks
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Message
from switchboard.dataplane.waiting import set_within

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Waiter:
    """A long-poll read waiting for a message after its cursor."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.nudged = asyncio.Event()

    async def deliver(self, delivery: Delivery) -> None:
        if delivery.seq > self.after:
            self.nudged.set()

    async def resync(self) -> None:
        self.nudged.set()


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    return [message.as_json() for message in messages]


class Api:
    """The api channel of a gateway."""

    def __init__(self, conversations: Conversations, hub: Hub, token: str) -> None:
        self.conversations = conversations
        self.hub = hub
        self.token = token
        self.webhooks: Webhooks | None = None

    async def start(self, runtime: Runtime) -> None:
        channel = self.conversations.channel.channel
        self.webhooks = Webhooks(runtime, channel, ApiWebhook(self.token))
        await self.webhooks.start()

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()

    def routes(self, app: web.Application) -> None:
        api = web.Application(middlewares=[refusals("Bearer"), self._authenticate])
        api.router.add_post("/conversations", self.start_conversation)
        api.router.add_post("/conversations/{id}/messages", self.post_message)
        api.router.add_get("/conversations/{id}/messages", self.read_messages)
        api.router.add_delete("/conversations/{id}", self.leave_conversation)
        app.add_subapp("/api/v1", api)

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._authorized(request.headers.get("Authorization", "")):
            raise ProtocolError(Code.UNAUTHORIZED, "a valid bearer token is required")
        return await handler(request)

    def _authorized(self, header: str) -> bool:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode(), self.token.encode())

    async def start_conversation(self, request: web.Request) -> web.Response:
        body = protocol.parse_body(StartRequest, await read_body(request))
        conversation, new = await self.conversations.start(
            body.id,
            customer=body.customer,
            attributes=body.attributes,
            webhook=str(body.webhook) if body.webhook else None,
        )
        document = {
            "id": str(conversation.id),
            "state": conversation.state.value,
            "last_seq": conversation.next_seq,
        }
        return web.json_response(document, status=201 if new else 200)

    async def post_message(self, request: web.Request) -> web.Response:
        conversation = await self.conversations.find(_conversation_id(request))
        body = protocol.parse_body(MessageRequest, await read_body(request))
        message = await self.conversations.send(conversation, body.id, body.text)
        return web.json_response({"id": str(message.id), "seq": message.seq})

    async def read_messages(self, request: web.Request) -> web.Response:
        conversation_id = _conversation_id(request)
        after = protocol.parse_after(request.query.get("after"))
        wait = protocol.parse_wait(request.query.get("wait"))
        conversation = await self.conversations.find(conversation_id)
        store = self.conversations.runtime.store
        if wait == 0 or conversation.state not in OPEN_STATES:
            messages = await store.messages_after(conversation_id, after)
            return web.json_response(
                {"messages": _messages(messages), "state": conversation.state.value}
            )
        waiter = Waiter(after)
        self.hub.add(conversation_id, waiter)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            while True:
                waiter.nudged.clear()  # before reading, so a nudge during the read counts
                messages = await store.messages_after(conversation_id, after)
                remaining = deadline - loop.time()
                if messages or remaining <= 0:
                    break
                await set_within(waiter.nudged, remaining)
        finally:
            self.hub.remove(conversation_id, waiter)
        state = (await self.conversations.find(conversation_id)).state
        return web.json_response({"messages": _messages(messages), "state": state.value})

    async def leave_conversation(self, request: web.Request) -> web.Response:
        conversation_id = _conversation_id(request)
        state = await self.conversations.leave(conversation_id)
        return web.json_response({"id": str(conversation_id), "state": state.value})


def refusals(challenge: str) -> Middleware:
    """Answers every refusal of a REST request as a JSON error body; a 401 names `challenge`,
    the way to authenticate."""

    @web.middleware
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ProtocolError as problem:
            return _refusal(problem, challenge)
        except OUTAGES as error:
            logger.warning("a request to %s could not be served: %s", request.path, error)
            outage = ProtocolError(Code.UNAVAILABLE, "the service is briefly unavailable")
            return _refusal(outage, challenge)

    return answer


def _refusal(problem: ProtocolError, challenge: str) -> web.Response:
    headers = {}
    if problem.code is Code.UNAUTHORIZED:
        headers["WWW-Authenticate"] = challenge
    elif problem.code is Code.UNAVAILABLE:
        headers["Retry-After"] = "1"
    return web.json_response(
        protocol.error_body(problem), status=protocol.HTTP_STATUS[problem.code], headers=headers
    )


def _conversation_id(request: web.Request) -> uuid.UUID:
    text = request.match_info["id"]
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ProtocolError(Code.BAD_REQUEST, f"{text!r} is not a conversation id") from None


async def read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise ProtocolError(Code.TOO_LARGE, f"the body is too large: {error.text}") from None
