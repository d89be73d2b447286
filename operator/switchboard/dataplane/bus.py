"""The bus (RabbitMQ through aio-pika): work queues and deliveries (docs/dataplane.md, "The bus").

Work is published persistent and confirmed by the broker before the publisher goes on; a
consumer acknowledges a message only once its effect is stored, and a failure hands it back
(a redelivery; consumers are idempotent). Deliveries are nudges to transient queues, so a lost
one costs only latency: after a reconnect, `on_reconnect` callbacks re-read from the store.
The connection is robust: it reconnects, redeclares and resumes consuming by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    ExchangeType,
)

from switchboard.dataplane.envelope import Envelope
from switchboard.dataplane.tls import verifying_context
from switchboard.dataplane.topology import Topology

logger = logging.getLogger(__name__)

WorkHandler = Callable[[AbstractIncomingMessage], Awaitable[None]]
DeliveryHandler = Callable[[bytes, str], Awaitable[None]]
# How long a publish waits for the broker to come back before it gives up.
PUBLISH_PATIENCE_SECONDS = 15.0
_RETRYABLE = (
    aio_pika.exceptions.AMQPConnectionError,
    aio_pika.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    asyncio.TimeoutError,
    RuntimeError,  # aio-pika's "channel closed" while it reconnects
)


class PublishFailed(Exception):
    """The broker did not confirm a message in time (it was down, or refused it)."""


class Bus:
    """One connection to the broker: a confirming channel to publish on, one per consumer."""

    def __init__(self, connection: AbstractRobustConnection, topology: Topology) -> None:
        self.connection = connection
        self.topology = topology
        self._publishing: AbstractRobustChannel | None = None
        self._declared: set[str] = set()

    @classmethod
    async def connect(cls, uri: str, topology: Topology, *, ca: str | None = None) -> Bus:
        """A connection to `uri`; for an amqps:// one with `ca`, the broker's certificate is
        verified against it (and the system's CAs)."""
        connection = await aio_pika.connect_robust(
            uri, client_properties={"product": "switchboard"}, ssl_context=verifying_context(ca)
        )
        bus = cls(connection, topology)
        await bus._declare_exchanges()
        return bus

    async def close(self) -> None:
        await self.connection.close()

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Calls `callback` after every reconnect (to re-read what nudges may have missed)."""

        async def reconnected(*_: Any) -> None:
            try:
                await callback()
            except Exception:
                logger.exception("resynchronising after a reconnect to the broker failed")

        self.connection.reconnect_callbacks.add(reconnected)

    @property
    def connected(self) -> bool:
        return not self.connection.is_closed

    async def _channel(self) -> AbstractRobustChannel:
        if self._publishing is None or self._publishing.is_closed:
            channel = await self.connection.channel(publisher_confirms=True)
            assert isinstance(channel, AbstractRobustChannel)
            self._publishing = channel
        return self._publishing

    async def _declare_exchanges(self) -> None:
        channel = await self._channel()
        topology = self.topology
        await channel.declare_exchange(topology.work_exchange, ExchangeType.DIRECT, durable=True)
        await channel.declare_exchange(
            topology.deliveries_exchange, ExchangeType.TOPIC, durable=True
        )
        dead = await channel.declare_exchange(
            topology.dead_letter_exchange, ExchangeType.FANOUT, durable=True
        )
        queue = await channel.declare_queue(
            topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(dead)

    async def declare_work_queue(self, name: str) -> None:
        """A work queue bound to the work exchange under its own name (idempotent)."""
        if name in self._declared:
            return
        channel = await self._channel()
        queue = await channel.declare_queue(
            name, durable=True, arguments=self.topology.work_queue_arguments()
        )
        await queue.bind(self.topology.work_exchange, routing_key=name)
        self._declared.add(name)

    async def publish_work(self, queue: str, envelope: Envelope, message_id: str) -> None:
        """Publishes work to `queue` and returns once the broker confirmed it."""
        await self.declare_work_queue(queue)
        message = aio_pika.Message(
            envelope.encode(),
            message_id=message_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._publish(self.topology.work_exchange, queue, message, mandatory=True)

    async def publish_delivery(self, routing_key: str, envelope: Envelope) -> None:
        """Nudges whoever holds the clients concerned; a failure is logged, not raised (the
        store has the message; the client reads it on its next resume)."""
        message = aio_pika.Message(
            envelope.encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
        )
        try:
            await self._publish(
                self.topology.deliveries_exchange, routing_key, message, mandatory=False
            )
        except PublishFailed as error:
            logger.warning("a delivery to %s was not published: %s", routing_key, error)

    async def _publish(
        self, exchange_name: str, routing_key: str, message: aio_pika.Message, *, mandatory: bool
    ) -> None:
        """Publishes and waits for the broker's confirmation, riding out a reconnect. A
        mandatory message that no queue takes is refused (work always has its queue)."""
        deadline = time.monotonic() + PUBLISH_PATIENCE_SECONDS
        delay = 0.05
        while True:
            try:
                channel = await self._channel()
                exchange = await channel.get_exchange(exchange_name, ensure=False)
                confirmation = await exchange.publish(
                    message, routing_key=routing_key, mandatory=mandatory, timeout=5
                )
            except _RETRYABLE as error:
                if time.monotonic() + delay > deadline:
                    raise PublishFailed(f"{type(error).__name__}: {error}") from error
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if not isinstance(confirmation, aiormq.spec.Basic.Ack):
                raise PublishFailed(f"the broker refused the message ({confirmation})")
            return

    async def consume_work(
        self, queue: str, handler: WorkHandler, *, prefetch: int
    ) -> Callable[[], Awaitable[None]]:
        """Hands the messages of `queue` to `handler`, at most `prefetch` unacknowledged at a
        time. The handler acknowledges; if it raises, the message goes back for redelivery.
        Returns a function that stops the deliveries (for a graceful stop: what was delivered
        stays with the handler, which still acknowledges it)."""
        await self.declare_work_queue(queue)
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        # Declared on this robust channel (not merely looked up): only queues a robust channel
        # declared are declared again, with their consumers, after a reconnect.
        declared = await channel.declare_queue(
            queue, durable=True, arguments=self.topology.work_queue_arguments()
        )

        async def handle(message: AbstractIncomingMessage) -> None:
            try:
                await handler(message)
            except Exception:
                logger.exception("handling a message from %s failed; it will be redelivered", queue)
                if not channel.is_closed:
                    await message.nack(requeue=True)

        tag = await declared.consume(handle)

        async def stop() -> None:
            if not channel.is_closed:
                await declared.cancel(tag)

        return stop

    async def subscribe_deliveries(
        self, binding_keys: Sequence[str], handler: DeliveryHandler
    ) -> None:
        """Hands deliveries matching `binding_keys` to `handler(body, routing_key)`, on a
        transient queue of this process's own."""
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=256)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in binding_keys:
            await queue.bind(self.topology.deliveries_exchange, routing_key=key)

        async def handle(message: AbstractIncomingMessage) -> None:
            try:
                await handler(message.body, message.routing_key or "")
            except Exception:
                logger.exception("a delivery could not be handled; clients will resume")

        await queue.consume(handle, no_ack=True)
