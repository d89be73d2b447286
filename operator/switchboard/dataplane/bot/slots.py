"""Bot slots (docs/dataplane.md, "Bot capacity"): a track serves as many conversations at once as
the sum of `concurrency` over its live replicas; a new conversation waits for a free slot.

Each replica keeps its row in `bot_replicas` fresh (`beat`); a replica not seen for
`LIVE_SECONDS` no longer counts. Admission counts the track's admitted conversations still with
the bot against that capacity under a per-track advisory lock, so replicas admitting at once
never overfill it. A conversation frees its slot by leaving state `bot` (contained, handed off
or abandoned): nothing to release, so a crash cannot leak a slot.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

from switchboard.dataplane.store import Store, append_event
from switchboard.dataplane.waiting import set_within

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 3.0
COUNT_SECONDS = 2.0  # how often a replica reports its track's active conversations
LIVE_SECONDS = 10.0
FORGET_SECONDS = 3600.0  # rows of replicas gone this long are deleted
POLL_SECONDS = 0.5  # how often waiting conversations look for a slot freed elsewhere
ADMISSION_LOCK = 0x5357_4254  # an advisory-lock key of our own ("SWBT"), with the track's hash


class Admission(enum.Enum):
    ADMITTED = "admitted"
    NOT_NEEDED = "not needed"
    """Admitted before, no longer with the bot, or gone."""
    FULL = "full"


class Stopping(Exception):
    """The replica is stopping: a conversation waiting for a slot goes back to the queue."""


async def beat(store: Store, replica: str, track: str, concurrency: int) -> None:
    """Says this replica is alive and how many conversations it serves."""
    async with store.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO bot_replicas (replica, track, concurrency) VALUES ($1, $2, $3) "
            "ON CONFLICT (replica) DO UPDATE SET track = EXCLUDED.track, "
            "concurrency = EXCLUDED.concurrency, seen_at = now()",
            replica,
            track,
            concurrency,
        )
        await connection.execute(
            "DELETE FROM bot_replicas WHERE seen_at < now() - make_interval(secs => $1)",
            FORGET_SECONDS,
        )


async def leave(store: Store, replica: str) -> None:
    """Takes this replica's slots away at once (on a graceful stop)."""
    async with store.pool.acquire() as connection:
        await connection.execute("DELETE FROM bot_replicas WHERE replica = $1", replica)


async def keep_beating(store: Store, replica: str, track: str, concurrency: int) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await beat(store, replica, track, concurrency)
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("the bot's heartbeat was not stored: %s", error)


async def active_conversations(store: Store, track: str, model_version: str) -> int:
    """Conversations of the track that started on the model version and are still with the
    bot (admitted or waiting for a slot): what a retired model must serve before it goes."""
    async with store.pool.acquire() as connection:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM conversations "
            "WHERE track = $1 AND model_version = $2 AND state = 'bot'",
            track,
            model_version,
        )
    return count


async def keep_counting(
    store: Store, track: str, model_version: str, report: Callable[[int], None]
) -> None:
    """Reports the track's active conversations on the model version every COUNT_SECONDS
    (the operator drains a retired model by them)."""
    while True:
        try:
            report(await active_conversations(store, track, model_version))
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("counting the track's active conversations failed: %s", error)
        await asyncio.sleep(COUNT_SECONDS)


async def try_admit(store: Store, conversation_id: uuid.UUID, track: str, actor: str) -> Admission:
    """Gives the conversation a slot of `track` if one is free."""
    async with store.transaction() as connection:
        await connection.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", ADMISSION_LOCK, track
        )
        # clock_timestamp(), not now(): the transaction may have waited for the lock while the
        # slot it takes was freed, and the admission is when it took it.
        admitted = await connection.fetchval(
            "UPDATE conversations SET admitted = true, admitted_at = clock_timestamp() "
            "WHERE id = $1 AND state = 'bot' AND NOT admitted "
            "AND (SELECT count(*) FROM conversations "
            "     WHERE track = $2 AND state = 'bot' AND admitted) "
            "  < (SELECT coalesce(sum(concurrency), 0) FROM bot_replicas "
            "     WHERE track = $2 AND seen_at > now() - make_interval(secs => $3)) "
            "RETURNING id",
            conversation_id,
            track,
            LIVE_SECONDS,
        )
        if admitted is not None:
            await append_event(connection, conversation_id, "admitted", actor, {"track": track})
            return Admission.ADMITTED
    return Admission.FULL if await needs_slot(store, conversation_id) else Admission.NOT_NEEDED


async def needs_slot(store: Store, conversation_id: uuid.UUID) -> bool:
    """Whether the conversation is with the bot and not admitted yet."""
    async with store.pool.acquire() as connection:
        waiting: bool | None = await connection.fetchval(
            "SELECT state = 'bot' AND NOT admitted FROM conversations WHERE id = $1",
            conversation_id,
        )
    return bool(waiting)


class SlotGate:
    """Admits the conversations waiting on this replica in the order they came, as slots free
    up: at once when this replica frees one (`wake`), within `POLL_SECONDS` when another
    replica or a departing customer does."""

    def __init__(
        self,
        admit: Callable[[uuid.UUID], Awaitable[Admission]],
        needs: Callable[[uuid.UUID], Awaitable[bool]],
    ) -> None:
        self._admit = admit
        self._needs = needs
        self._waiting: deque[tuple[uuid.UUID, asyncio.Future[None]]] = deque()
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def enter(self, conversation_id: uuid.UUID) -> None:
        """Returns once the conversation has a slot (or needs none); raises Stopping if the
        gate closes first."""
        if self._closed:
            raise Stopping
        if self._waiting:
            # others wait already: no overtaking them, unless it needs no slot
            if not await self._needs(conversation_id):
                return
        elif await self._admit(conversation_id) is not Admission.FULL:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((conversation_id, future))
        self._wake.set()
        await future

    def wake(self) -> None:
        """A slot may be free (this replica just saw a conversation leave the bot)."""
        self._wake.set()

    async def run(self) -> None:
        """Admits waiting conversations until cancelled."""
        while True:
            await set_within(self._wake, POLL_SECONDS)
            self._wake.clear()
            try:
                await self._admit_waiting()
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("admitting conversations to bot slots failed: %s", error)

    async def _admit_waiting(self) -> None:
        while self._waiting:
            conversation_id, future = self._waiting[0]
            if not future.done():
                if await self._admit(conversation_id) is Admission.FULL:
                    return
                if not future.done():
                    future.set_result(None)
            self._waiting.popleft()

    def close(self) -> None:
        """Sends the waiting conversations back (their messages return to the queue)."""
        self._closed = True
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_exception(Stopping())
