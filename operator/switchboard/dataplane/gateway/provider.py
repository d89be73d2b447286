"""The `sms`, `whatsapp` and `social` channels: one adapter for a messaging provider that relays
customers' messages as signed webhooks and takes our replies as signed POSTs
(docs/dataplane.md, "provider protocol").

An inbound message is checked (signature, replay window) before its body is read as JSON; a
provider message id seen before is refused as a replay, so a retry stores nothing twice (and
hands the message on again if the bot has not answered it: the first hand-on may have failed). The
message continues the customer's open conversation on the channel, else starts one: from there
it is a customer message like any other. Every bot, agent or system message of the channel's
conversations goes to the provider through the webhook queue, with the api channel's retries.
"""

from __future__ import annotations

import json
import time
import uuid

import asyncpg
from aiohttp import web

from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway import protocol
from switchboard.dataplane.gateway.api import read_body, refusals
from switchboard.dataplane.gateway.conversations import Conversations
from switchboard.dataplane.gateway.protocol import Code, InboundMessage, ProtocolError
from switchboard.dataplane.gateway.signature import SIGNATURE_HEADER, signed_headers, verify
from switchboard.dataplane.gateway.webhook import Post, Webhooks
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Conversation, Message

MESSAGES_PATH = "/provider/v1/messages"
PROVIDER_MESSAGES = uuid.UUID("0b6a1f3e-2f0c-4a49-9d1e-5e7f3c2a8d41")
"""Namespace of the ids our messages get from the provider's (uuid5)."""


def message_id(channel: str, provider_id: str) -> uuid.UUID:
    """Our id of a provider's message: the same on every replica and every retry."""
    return uuid.uuid5(PROVIDER_MESSAGES, f"{channel}/{provider_id}")


def outbound_body(conversation: Conversation, delivery: Delivery) -> bytes:
    """What the provider is sent: the delivery, and whom to send it to."""
    return json.dumps({"to": conversation.customer, **delivery.model_dump(mode="json")}).encode()


class ProviderSends:
    """Where a provider channel's replies go: the provider's URL, signed with a timestamp."""

    def __init__(self, token: str, url: str | None) -> None:
        self.token = token
        self.url = url

    def post(self, conversation: Conversation, delivery: Delivery) -> Post | None:
        if self.url is None:
            return None
        body = outbound_body(conversation, delivery)
        # Signed when sent, so a retry after a back-off is as fresh as the first try.
        return Post(self.url, body, signed_headers(self.token, body, time.time()))


class Provider:
    """The provider adapter of an `sms`, `whatsapp` or `social` gateway."""

    def __init__(self, conversations: Conversations, token: str, url: str | None) -> None:
        self.conversations = conversations
        self.token = token
        self.sends = ProviderSends(token, url)
        self.webhooks: Webhooks | None = None

    async def start(self, runtime: Runtime) -> None:
        self.webhooks = Webhooks(runtime, self.conversations.channel.channel, self.sends)
        await self.webhooks.start()

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()

    def routes(self, app: web.Application) -> None:
        provider = web.Application(middlewares=[refusals(SIGNATURE_HEADER)])
        provider.router.add_post("/messages", self.receive)
        app.add_subapp(MESSAGES_PATH.removesuffix("/messages"), provider)

    async def receive(self, request: web.Request) -> web.Response:
        raw = await read_body(request)
        verify(self.token, raw, request.headers, time.time())
        inbound = protocol.parse_body(InboundMessage, raw)
        ours = message_id(self.conversations.channel.channel, inbound.id)
        placed = await self.conversations.runtime.store.message_place(ours)
        if placed is not None:
            await self.conversations.hand_on_again(*placed, ours, inbound.text)
            raise ProtocolError(Code.REPLAYED, f"message {inbound.id!r} was received before")
        try:
            message = await self._continue(inbound.sender, ours, inbound.text)
        except ProtocolError as problem:
            if problem.code is not Code.CLOSED:
                raise
            # The conversation ended between finding it and storing: this starts the next one.
            message = await self._continue(inbound.sender, ours, inbound.text)
        document = {
            "conversation": str(message.conversation_id),
            "id": str(message.id),
            "seq": message.seq,
        }
        return web.json_response(document)

    async def _continue(self, customer: str, ours: uuid.UUID, text: str) -> Message:
        """Stores the message in the customer's open conversation; else, if it answers the
        survey of their last one, there; else in a new one."""
        store = self.conversations.runtime.store
        channel = self.conversations.channel.channel
        conversation = await store.open_provider_conversation(channel, customer)
        if conversation is None:
            surveyed = await store.surveyed_provider_conversation(channel, customer)
            if surveyed is not None:
                answer = await self.conversations.answer_survey(surveyed, ours, text)
                if answer is not None:
                    return answer
            conversation = await self._start(customer)
        return await self.conversations.send(conversation, ours, text)

    async def _start(self, customer: str) -> Conversation:
        store = self.conversations.runtime.store
        channel = self.conversations.channel.channel
        try:
            started, _ = await self.conversations.start(
                uuid.uuid4(), customer=customer, attributes={}, webhook=None
            )
        except asyncpg.UniqueViolationError:
            # Another message of theirs started one meanwhile (one open at most): that one.
            current = await store.open_provider_conversation(channel, customer)
            if current is None:
                raise ProtocolError(
                    Code.UNAVAILABLE, "the customer's conversation is changing; try again"
                ) from None
            return current
        return started
