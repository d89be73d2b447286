"""The store (PostgreSQL): connection, migrations, and what every role does to conversations.

The role-specific parts live beside their roles (the bot's turn and slots in `dataplane.bot`,
routing and offers in `dataplane.agents`); this module holds what they share: starting a
conversation, storing a message, reading a transcript after a cursor, moving a conversation
with a compare-and-set on its state, and appending to the event log.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from switchboard.dataplane.conversation import Sender, State, Step, sources, target
from switchboard.dataplane.schema import MIGRATION_LOCK, MIGRATIONS
from switchboard.dataplane.tls import verifying_context

logger = logging.getLogger(__name__)

# A resolved conversation whose survey question waits for an answer, still in time.
SURVEY_OPEN = "survey IS NOT NULL AND survey_until > now()"

# One connection, or the one a transaction runs on.
Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"


# How the database being unreachable or restarting reaches a caller, who may wait and try
# again; other database errors are bugs.
STORE_OUTAGES: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


class ConversationNotFound(LookupError):
    """No open conversation of that id (never started, or ended)."""


@dataclass(frozen=True)
class Message:
    """One stored message of a conversation."""

    conversation_id: uuid.UUID
    seq: int
    id: uuid.UUID
    sender: Sender
    author: str | None
    body: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The shape pushed to clients and carried on the bus."""
        return {
            "conversation": str(self.conversation_id),
            "seq": self.seq,
            "id": str(self.id),
            "sender": self.sender,
            "author": self.author,
            "text": self.body,
            "at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Stored:
    """The outcome of storing a message: its seq and the conversation's state then."""

    message: Message
    state: State
    admitted: bool
    inserted: bool
    """False when a message of that id was stored before (a resend)."""


@dataclass(frozen=True)
class Conversation:
    id: uuid.UUID
    channel: str
    channel_type: str
    customer: str
    state: State
    track: str
    model_version: str
    admitted: bool
    next_seq: int
    bot_cursor: int
    failed_turns: int
    agent_id: str | None
    attributes: Mapping[str, Any]
    webhook: str | None
    created_at: datetime
    admitted_at: datetime | None
    bot_answered_at: datetime | None
    queued_at: datetime | None
    accepted_at: datetime | None
    last_sentiment: float | None = None
    """The sentiment of the customer's last message the bot handled."""
    clarification: str | None = None
    """The bot's clarification under way: `confirm` or `rephrase`."""
    clarification_intent: str | None = None
    """The intent a `confirm` asked about."""


_CONVERSATION_COLUMNS = (
    "id, channel, channel_type, customer, state, track, model_version, admitted, next_seq, "
    "bot_cursor, failed_turns, agent_id, attributes, webhook, created_at, admitted_at, "
    "bot_answered_at, queued_at, accepted_at, last_sentiment, clarification, "
    "clarification_intent"
)


def conversation_columns(table: str) -> str:
    """The columns of a Conversation, of `table` (an alias in a query that joins others)."""
    return ", ".join(f"{table}.{column}" for column in _CONVERSATION_COLUMNS.split(", "))


def conversation_from_row(row: asyncpg.Record | Mapping[str, Any]) -> Conversation:
    values = dict(row)
    values["state"] = State(values["state"])
    return Conversation(**values)


def message_from_row(conversation_id: uuid.UUID, row: asyncpg.Record) -> Message:
    return Message(
        conversation_id=conversation_id,
        seq=row["seq"],
        id=row["id"],
        sender=row["sender"],
        author=row["author"],
        body=row["body"],
        created_at=row["created_at"],
    )


async def _init_connection(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    for json_type in ("json", "jsonb"):
        await connection.set_type_codec(
            json_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """What a connection going back to the pool needs beyond asyncpg's own rollback of an
    unfinished transaction: nothing. The data plane leaves no session state behind (its
    advisory locks are transaction-scoped; no LISTEN, no SET), and asyncpg's default reset
    (unlock all, close cursors, unlisten, reset settings) costs a round trip per use."""


class Store:
    """A pool of connections to the contact center's database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(
        cls, uri: str, *, ca: str | None = None, min_size: int = 2, max_size: int = 10
    ) -> Store:
        """A pool on `uri`; with `ca`, over TLS only, the server's certificate verified
        against it."""
        pool = await asyncpg.create_pool(
            uri,
            ssl=verifying_context(ca),
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            reset=_keep_session,
        )
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield connection

    async def migrate(self) -> list[int]:
        """Applies the migrations not applied yet; returns their versions. Safe when several
        replicas start at once: the advisory lock makes them take turns, and each finds what
        the others applied."""
        async with self.transaction() as connection:
            await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {
                row["version"]
                for row in await connection.fetch("SELECT version FROM schema_migrations")
            }
            new = [(version, sql) for version, sql in MIGRATIONS if version not in applied]
            for version, sql in new:
                await connection.execute(sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", version
                )
        if new:
            logger.info("applied schema migrations %s", [version for version, _ in new])
        return [version for version, _ in new]

    async def ready(self) -> bool:
        """Whether the database answers (for the readiness probe)."""
        try:
            async with self.pool.acquire(timeout=2) as connection:
                await connection.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        return True

    # --- conversations ------------------------------------------------------------------

    async def start_conversation(
        self,
        conversation_id: uuid.UUID,
        *,
        channel: str,
        channel_type: str,
        customer: str,
        track: str,
        model_version: str,
        attributes: Mapping[str, Any] | None = None,
        webhook: str | None = None,
    ) -> tuple[Conversation, bool]:
        """Starts a conversation with the bot, or finds the one of that id (a client that
        retried); returns it and whether it is new."""
        async with self.transaction() as connection:
            row = await connection.fetchrow(
                "INSERT INTO conversations "
                "(id, channel, channel_type, customer, state, track, model_version, "
                "attributes, webhook) "
                "VALUES ($1, $2, $3, $4, 'bot', $5, $6, $7, $8) "
                f"ON CONFLICT (id) DO NOTHING RETURNING {_CONVERSATION_COLUMNS}",
                conversation_id,
                channel,
                channel_type,
                customer,
                track,
                model_version,
                dict(attributes or {}),
                webhook,
            )
            if row is not None:
                await append_event(connection, conversation_id, "entered", customer)
                return conversation_from_row(row), True
        existing = await self.conversation(conversation_id)
        if existing is None:
            raise ConversationNotFound(str(conversation_id))
        return existing, False

    async def repeat_contact(
        self, conversation_id: uuid.UUID, customer: str, window_seconds: float
    ) -> list[str]:
        """Marks the customer's resolved conversations that ended at most `window_seconds`
        before now, on any channel, as repeated by the conversation they just started (once
        each: a retried start finds them marked); returns the channels of those it marked."""
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                "UPDATE conversations SET repeated_by = $1 "
                "WHERE customer = $2 AND state = 'resolved' AND repeated_by IS NULL "
                "AND ended_at >= now() - make_interval(secs => $3) AND id <> $1 "
                "RETURNING channel",
                conversation_id,
                customer,
                window_seconds,
            )
        return [row["channel"] for row in rows]

    async def conversation(self, conversation_id: uuid.UUID) -> Conversation | None:
        async with self.pool.acquire() as connection:
            return await fetch_conversation(connection, conversation_id)

    async def open_provider_conversation(self, channel: str, customer: str) -> Conversation | None:
        """The customer's open conversation on a provider channel (migration 6: one at most)."""
        async with self.pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations "
                "WHERE channel = $1 AND customer = $2 "
                "AND state IN ('bot', 'queued', 'offered', 'agent') "
                "AND channel_type IN ('sms', 'whatsapp', 'social')",
                channel,
                customer,
            )
        return conversation_from_row(row) if row is not None else None

    async def surveyed_provider_conversation(
        self, channel: str, customer: str
    ) -> Conversation | None:
        """The customer's latest conversation on a provider channel whose survey question
        (migrations 10, 11) waits for an answer: their next message may be that answer."""
        async with self.pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations "
                f"WHERE channel = $1 AND customer = $2 AND {SURVEY_OPEN} "
                "ORDER BY ended_at DESC LIMIT 1",
                channel,
                customer,
            )
        if row is None:
            return None
        return conversation_from_row(row)

    async def message_place(self, message_id: uuid.UUID) -> tuple[uuid.UUID, int] | None:
        """The conversation and seq of the message of that id, if it is stored."""
        async with self.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT conversation_id, seq FROM messages WHERE id = $1", message_id
            )
        return (row["conversation_id"], row["seq"]) if row is not None else None

    async def add_message(
        self,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        *,
        sender: Sender,
        body: str,
        author: str | None = None,
        connection: Connection | None = None,
    ) -> Stored:
        """Stores a message of an open conversation with the next seq, or returns the one
        stored before under `message_id`. Raises ConversationNotFound for no open one."""
        if connection is not None:
            return await add_message(connection, conversation_id, message_id, sender, author, body)
        async with self.pool.acquire() as acquired:
            try:
                return await add_message(
                    acquired, conversation_id, message_id, sender, author, body
                )
            except asyncpg.UniqueViolationError:
                # The same message stored concurrently (a resend racing the original): it is
                # there now, with its seq.
                return await add_message(
                    acquired, conversation_id, message_id, sender, author, body
                )

    async def messages_after(
        self, conversation_id: uuid.UUID, cursor: int, limit: int = 500
    ) -> list[Message]:
        """The conversation's messages with seq above `cursor`, in order."""
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT seq, id, sender, author, body, created_at FROM messages "
                "WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                conversation_id,
                cursor,
                limit,
            )
        return [message_from_row(conversation_id, row) for row in rows]


async def fetch_conversation(
    connection: Connection, conversation_id: uuid.UUID, *, for_update: bool = False
) -> Conversation | None:
    row = await connection.fetchrow(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"
        + (" FOR UPDATE" if for_update else ""),
        conversation_id,
    )
    return conversation_from_row(row) if row is not None else None


async def add_message(
    connection: Connection,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    sender: Sender,
    author: str | None,
    body: str,
) -> Stored:
    row = await connection.fetchrow(
        "SELECT * FROM switchboard_add_message($1, $2, $3, $4, $5)",
        conversation_id,
        message_id,
        sender,
        author,
        body,
    )
    if row is None:
        raise ConversationNotFound(str(conversation_id))
    message = Message(
        conversation_id, row["seq"], message_id, sender, author, body, row["created_at"]
    )
    return Stored(message, State(row["state"]), row["admitted"], row["inserted"])


async def move(
    connection: Connection,
    conversation_id: uuid.UUID,
    step: Step,
    *,
    actor: str | None,
    assignments: Mapping[str, Any] | None = None,
    only_if: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Conversation | None:
    """Moves a conversation by `step` if its state allows it and its columns equal `only_if`
    (a compare-and-set), setting `assignments` too, and logs the event. Returns it as it is
    now, or None if it could not move (someone else moved it first)."""
    arguments: list[Any] = [conversation_id, target(step).value, [s.value for s in sources(step)]]
    sets = ["state = $2"]
    for column, value in (assignments or {}).items():
        arguments.append(value)
        sets.append(f"{column} = ${len(arguments)}")
    conditions = ["id = $1", "state = ANY($3::text[])"]
    for column, value in (only_if or {}).items():
        arguments.append(value)
        conditions.append(f"{column} = ${len(arguments)}")
    row = await connection.fetchrow(
        f"UPDATE conversations SET {', '.join(sets)} WHERE {' AND '.join(conditions)} "
        f"RETURNING {_CONVERSATION_COLUMNS}",
        *arguments,
    )
    if row is None:
        return None
    await append_event(connection, conversation_id, step.value, actor, data)
    return conversation_from_row(row)


async def append_event(
    connection: Connection,
    conversation_id: uuid.UUID,
    kind: str,
    actor: str | None,
    data: Mapping[str, Any] | None = None,
) -> None:
    await connection.execute(
        "INSERT INTO events (conversation_id, type, actor, data) VALUES ($1, $2, $3, $4)",
        conversation_id,
        kind,
        actor,
        dict(data or {}),
    )
