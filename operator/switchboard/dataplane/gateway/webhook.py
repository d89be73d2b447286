"""Replies POSTed to where a conversation's customer reads them: the webhook an `api`
conversation was started with, or the provider of an `sms`, `whatsapp` or `social` channel.

`announce` puts every bot, agent or system message of such a conversation on the channel's
webhook queue, as work: one gateway replica takes it, POSTs it where the channel's
`Destination` says, and acknowledges it once the receiver answered 2xx. A receiver that is down
or answers 5xx, 408, 425 or 429 gets it again later (backing off, up to the queue's delivery
limit, after which it is dead-lettered); any other answer is permanent: logged and dropped.
Every body is signed with the channel's token, so the receiver can tell it came from us.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway.conversations import OUTAGES
from switchboard.dataplane.gateway.signature import SIGNATURE_HEADER, signature
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Conversation

logger = logging.getLogger(__name__)

POST_TIMEOUT_SECONDS = 10.0
PREFETCH = 32
"""Webhook POSTs in flight at once per replica."""
MESSAGE_ID_HEADER = "X-Switchboard-Message-Id"
RETRYABLE_4XX = frozenset({408, 425, 429})
MAX_RETRY_DELAY_SECONDS = 30.0


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DROP = "drop"


def verdict(status: int | None) -> Verdict:
    """What a receiver's answer means; None: no answer (refused, timed out)."""
    if status is None or status >= 500 or status in RETRYABLE_4XX:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    return Verdict.DROP


def retry_delay(deliveries: int) -> float:
    """How long to hold a failed delivery before handing it back, after `deliveries` earlier
    attempts: doubling from half a second, at most MAX_RETRY_DELAY_SECONDS."""
    return float(min(MAX_RETRY_DELAY_SECONDS, 0.5 * 2 ** min(deliveries, 16)))


@dataclass(frozen=True)
class Post:
    """One POST of a delivery: where, what, and the headers that sign it."""

    url: str
    body: bytes
    headers: Mapping[str, str]


class Destination(Protocol):
    def post(self, conversation: Conversation, delivery: Delivery) -> Post | None:
        """The POST that tells the conversation's customer of `delivery`, or None: there is
        nowhere to send it."""


@dataclass(frozen=True)
class ApiWebhook:
    """An `api` conversation's webhook: the delivery's JSON, its signature over the body."""

    token: str

    def post(self, conversation: Conversation, delivery: Delivery) -> Post | None:
        if conversation.webhook is None:
            return None
        body = delivery.encode()
        return Post(conversation.webhook, body, {SIGNATURE_HEADER: signature(self.token, body)})


class Webhooks:
    def __init__(self, runtime: Runtime, channel: str, destination: Destination) -> None:
        self.runtime = runtime
        self.channel = channel
        self.destination = destination
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_SECONDS),
            headers={"User-Agent": "switchboard-gateway"},
        )

    async def start(self) -> None:
        queue = self.runtime.topology.webhook_queue(self.channel)
        await self.runtime.bus.consume_work(queue, self.handle, prefetch=PREFETCH)

    async def stop(self) -> None:
        await self.http.close()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            delivery = Delivery.model_validate_json(message.body)
        except ValidationError as error:
            logger.error("a webhook delivery is malformed, dead-lettering it: %s", error)
            await message.reject(requeue=False)
            return
        try:
            conversation = await self.runtime.store.conversation(delivery.conversation)
        except OUTAGES as error:
            logger.warning("cannot look up a webhook now, trying again later: %s", error)
            await try_later(message)
            return
        post = None if conversation is None else self.destination.post(conversation, delivery)
        if post is None:
            logger.warning(
                "message %s of conversation %s has nowhere to go; dropped",
                delivery.id,
                delivery.conversation,
            )
            await message.ack()
            return
        status = await self._post(post, delivery)
        outcome = verdict(status)
        if outcome is Verdict.RETRY:
            await try_later(message)
            return
        if outcome is Verdict.DROP:
            logger.warning(
                "the receiver of conversation %s refused message %s with %s; dropped",
                delivery.conversation,
                delivery.id,
                status,
            )
        await message.ack()

    async def _post(self, post: Post, delivery: Delivery) -> int | None:
        headers = {
            "Content-Type": "application/json",
            MESSAGE_ID_HEADER: str(delivery.id),
            **post.headers,
        }
        try:
            async with self.http.post(
                post.url, data=post.body, headers=headers, allow_redirects=False
            ) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            reason = error or type(error).__name__
            logger.info("the receiver %s did not answer: %s", post.url, reason)
            return None


async def try_later(message: AbstractIncomingMessage) -> None:
    """Hands a message back for another try, after a back-off by how often it was tried (a
    quorum queue counts its deliveries)."""
    count = message.headers.get("x-delivery-count", 0)
    await asyncio.sleep(retry_delay(count if isinstance(count, int) else 0))
    await message.nack(requeue=True)
