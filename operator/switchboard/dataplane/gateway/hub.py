"""The customer connections this gateway process holds, by conversation, and the deliveries
that reach them.

Every replica of a channel's gateway gets every delivery of that channel (docs/dataplane.md,
"The bus"); the hub hands one to the listeners of its conversation here, if any. After a
reconnect to the broker, deliveries may have been lost: every listener re-reads the store.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Protocol

from pydantic import ValidationError

from switchboard.dataplane.envelope import Delivery

logger = logging.getLogger(__name__)

RESYNC_CONCURRENCY = 8
"""Listeners re-reading the store at once after a broker reconnect (a few pool connections)."""


class Listener(Protocol):
    async def deliver(self, delivery: Delivery) -> None:
        """A message of the listener's conversation was stored."""

    async def resync(self) -> None:
        """Deliveries may have been lost: catch up from the store."""


class Hub:
    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[Listener]] = {}

    def add(self, conversation: uuid.UUID, listener: Listener) -> None:
        self._listeners.setdefault(conversation, set()).add(listener)

    def remove(self, conversation: uuid.UUID, listener: Listener) -> None:
        listeners = self._listeners.get(conversation)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[conversation]

    def conversations(self) -> list[uuid.UUID]:
        """The conversations someone listens to here."""
        return list(self._listeners)

    def listeners(self) -> list[Listener]:
        return [listener for group in self._listeners.values() for listener in group]

    async def deliver(self, body: bytes, _routing_key: str) -> None:
        """The bus's delivery handler."""
        try:
            delivery = Delivery.model_validate_json(body)
        except ValidationError as error:
            logger.warning("dropped a malformed delivery: %s", error)
            return
        for listener in list(self._listeners.get(delivery.conversation, ())):
            try:
                await listener.deliver(delivery)
            except Exception:
                # One connection's trouble (a client gone, a failed read) is not the others'.
                logger.exception("a delivery to a connection failed; its client will resume")

    async def resync(self) -> None:
        """Every listener catches up from the store, a few at a time."""
        listeners = self.listeners()
        logger.info("re-reading the store for %d customer connections", len(listeners))
        slots = asyncio.Semaphore(RESYNC_CONCURRENCY)

        async def resync(listener: Listener) -> None:
            async with slots:
                try:
                    await listener.resync()
                except Exception:
                    logger.exception("a connection could not catch up; its client will resume")

        await asyncio.gather(*(resync(listener) for listener in listeners))
