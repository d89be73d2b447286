"""Replies to `api` conversations, POSTed to the webhook each was started with.

`announce` puts every bot or agent message of a conversation with a webhook on the channel's
webhook queue, as work: one gateway replica takes it, POSTs the delivery's JSON, and
acknowledges it once the receiver answered 2xx. A receiver that is down or answers 5xx, 408,
425 or 429 gets it again later (backing off, up to the queue's delivery limit, after which it
is dead-lettered); any other answer is permanent: logged and dropped. The body is signed with
the channel's API token, so the receiver can tell it came from us.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import logging

import aiohttp
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway.conversations import OUTAGES
from switchboard.dataplane.service import Runtime

logger = logging.getLogger(__name__)

POST_TIMEOUT_SECONDS = 10.0
PREFETCH = 32
"""Webhook POSTs in flight at once per replica."""
SIGNATURE_HEADER = "X-Switchboard-Signature"
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


def signature(token: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body, keyed with the API token>`."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(self, runtime: Runtime, channel: str, token: str) -> None:
        self.runtime = runtime
        self.channel = channel
        self.token = token
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
            await _later(message)
            return
        if conversation is None or conversation.webhook is None:
            logger.warning("conversation %s has no webhook; dropped", delivery.conversation)
            await message.ack()
            return
        status = await self._post(conversation.webhook, delivery)
        outcome = verdict(status)
        if outcome is Verdict.RETRY:
            await _later(message)
            return
        if outcome is Verdict.DROP:
            logger.warning(
                "the webhook of conversation %s refused message %s with %s; dropped",
                delivery.conversation,
                delivery.id,
                status,
            )
        await message.ack()

    async def _post(self, url: str, delivery: Delivery) -> int | None:
        body = delivery.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.token, body),
            MESSAGE_ID_HEADER: str(delivery.id),
        }
        try:
            async with self.http.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.info("the webhook %s did not answer: %s", url, error or type(error).__name__)
            return None


async def _later(message: AbstractIncomingMessage) -> None:
    """Hands a message back for another try, after a back-off by how often it was tried (a
    quorum queue counts its deliveries)."""
    count = message.headers.get("x-delivery-count", 0)
    await asyncio.sleep(retry_delay(count if isinstance(count, int) else 0))
    await message.nack(requeue=True)
