"""Whether webchat customers are still there, across gateway replicas.

While a customer is connected, the replica holding them refreshes `customer_seen_at` on their
conversation (at connect, every beat, and at disconnect). A conversation still open whose
customer was last seen longer ago than the disconnect grace has lost its customer: whichever
replica sweeps first (rows are claimed with SKIP LOCKED) ends it as of when they were last
seen. A customer who reconnects within the grace, to any replica, is seen again and stays. A
replica that crashes stops refreshing, so its customers who never come back are ended too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

from switchboard.dataplane.conversation import OPEN_STATES
from switchboard.dataplane.gateway.conversations import OUTAGES, Conversations, Ending

logger = logging.getLogger(__name__)

_OPEN = [state.value for state in OPEN_STATES]
MAX_BEAT_SECONDS = 15.0


def beat_seconds(grace_seconds: float) -> float:
    """How often presence is refreshed and gone customers swept: often enough that a
    connected customer is refreshed several times within the grace."""
    return min(MAX_BEAT_SECONDS, grace_seconds / 4)


class Presence:
    def __init__(
        self,
        conversations: Conversations,
        connected: Callable[[], Sequence[uuid.UUID]],
        grace_seconds: float,
    ) -> None:
        self.conversations = conversations
        self.connected = connected
        """The conversations whose customers are connected to this replica."""
        self.grace_seconds = grace_seconds
        self._task: asyncio.Task[None] | None = None

    async def seen(self, conversation_ids: Sequence[uuid.UUID]) -> None:
        """The customers of these conversations are (or were, until now) connected."""
        if not conversation_ids:
            return
        async with self.conversations.runtime.store.pool.acquire() as connection:
            await connection.execute(
                "UPDATE conversations SET customer_seen_at = now() "
                "WHERE id = ANY($1::uuid[]) AND state = ANY($2::text[])",
                list(conversation_ids),
                _OPEN,
            )

    async def sweep(self) -> int:
        """Ends the open conversations of this channel whose customers are gone; returns how
        many it ended."""
        ended = 0
        while (ending := await self._end_one_gone()) is not None:
            await self.conversations.tell(ending)
            ended += 1
        return ended

    async def _end_one_gone(self) -> Ending | None:
        conversations = self.conversations
        async with conversations.runtime.store.transaction() as connection:
            row = await connection.fetchrow(
                "SELECT id, customer_seen_at FROM conversations "
                "WHERE channel = $1 AND state = ANY($2::text[]) "
                "AND customer_seen_at < now() - make_interval(secs => $3) "
                "ORDER BY customer_seen_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                conversations.channel.channel,
                _OPEN,
                self.grace_seconds,
            )
            if row is None:
                return None
            conversation = await conversations.find_locked(connection, row["id"])
            return await conversations.end_locked(
                connection, conversation, row["customer_seen_at"], "disconnected"
            )

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="webchat presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _beat(self) -> None:
        period = beat_seconds(self.grace_seconds)
        while True:
            try:
                await self.seen(self.connected())
                ended = await self.sweep()
                if ended:
                    logger.info("ended %d conversations whose customers did not come back", ended)
            except OUTAGES as error:
                logger.warning("could not refresh webchat presence: %s", error)
            except Exception:
                # Keep beating: customers stay connected meanwhile, and the log says why.
                logger.exception("refreshing webchat presence failed")
            await asyncio.sleep(period)
