"""The agents tier's SQL: agents' rows, the router's candidates and locks, offers, and what a
replica reads to keep its agents' screens current. Each function is one statement on the
connection it is given; the transactions are the workspace's.

Times come from the database's clock: `now()` is the transaction's start, the same in every
statement of one transaction, so a value read from it can be written back as "now".
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from switchboard.api.channels import ChannelType
from switchboard.dataplane.agents.routing import Candidate, Waiting
from switchboard.dataplane.conversation import State
from switchboard.dataplane.store import Connection

AGENT_LOCK = 0x5357_4147
"""The class of the advisory locks on agents ("SWAG"; the key is the hash of the agent's id)."""


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    capacity: Mapping[str, int]
    available: bool
    skills: Mapping[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "agent": self.id,
            "name": self.name,
            "capacity": dict(self.capacity),
            "available": self.available,
            "skills": dict(self.skills),
        }


_AGENT_COLUMNS = "id, display_name, capacity, available, skills"


def _agent(row: asyncpg.Record) -> Agent:
    return Agent(row["id"], row["display_name"], row["capacity"], row["available"], row["skills"])


async def sign_in(
    connection: Connection,
    agent_id: str,
    name: str,
    capacity: Mapping[ChannelType, int],
    skills: Mapping[str, int],
    available: bool | None,
    presence_seconds: float,
) -> Agent:
    """Signs an agent in (again): present now, and idle from now if they only now become
    available or were gone for longer than a presence window; a reconnect within one (a
    dropped connection, a replica restarting) keeps their place in line. (A closed connection
    dates their presence back by one window: see `away`.)"""
    row = await connection.fetchrow(
        "INSERT INTO agents (id, display_name, capacity, skills, available) "
        "VALUES ($1, $2, $3, $6, coalesce($4, false)) "
        "ON CONFLICT (id) DO UPDATE SET "
        "display_name = excluded.display_name, capacity = excluded.capacity, "
        "skills = excluded.skills, "
        "available = coalesce($4, agents.available), "
        "idle_since = CASE WHEN agents.seen_at < now() - make_interval(secs => 2 * $5::float8) "
        "    OR (coalesce($4, false) AND NOT agents.available) "
        "    THEN now() ELSE agents.idle_since END, "
        f"seen_at = now() RETURNING {_AGENT_COLUMNS}",
        agent_id,
        name,
        dict(capacity),
        available,
        presence_seconds,
        dict(skills),
    )
    assert row is not None  # an upsert returns its row
    return _agent(row)


async def set_available(connection: Connection, agent_id: str, available: bool) -> Agent | None:
    """Turns availability on or off; becoming available starts the agent's idle time."""
    row = await connection.fetchrow(
        "UPDATE agents SET seen_at = now(), available = $2, "
        "idle_since = CASE WHEN $2 AND NOT available THEN now() ELSE idle_since END "
        f"WHERE id = $1 RETURNING {_AGENT_COLUMNS}",
        agent_id,
        available,
    )
    return _agent(row) if row is not None else None


async def touch(connection: Connection, agent_id: str) -> Agent | None:
    """The agent is here (a request of theirs): their presence, refreshed; None if they never
    signed in."""
    row = await connection.fetchrow(
        f"UPDATE agents SET seen_at = now() WHERE id = $1 RETURNING {_AGENT_COLUMNS}", agent_id
    )
    return _agent(row) if row is not None else None


async def touch_all(connection: Connection, agent_ids: Sequence[str]) -> None:
    """The agents connected to this replica are here."""
    await connection.execute(
        "UPDATE agents SET seen_at = now() WHERE id = ANY($1::text[])", sorted(agent_ids)
    )


async def away(connection: Connection, agent_id: str, presence_seconds: float) -> None:
    """The agent's last connection closed: not offered anything until they are back (their
    presence dated back by one window, so they are not present at once)."""
    await connection.execute(
        "UPDATE agents SET seen_at = least(seen_at, now() - make_interval(secs => $2)) "
        "WHERE id = $1",
        agent_id,
        presence_seconds,
    )


async def release(connection: Connection, agent_id: str) -> None:
    """A conversation left the agent: idle from now if it was their last."""
    await connection.execute(
        "UPDATE agents SET idle_since = now() WHERE id = $1 AND NOT EXISTS ("
        "    SELECT 1 FROM conversations WHERE agent_id = $1 AND state IN ('offered', 'agent'))",
        agent_id,
    )


# --- routing -------------------------------------------------------------------------------


async def candidates(
    connection: Connection, presence_seconds: float, agent_id: str | None = None
) -> tuple[datetime, list[Candidate]]:
    """The database's now, and the agents who could be offered something (or only that agent,
    if they could): available, present, with what each holds per channel type."""
    rows = await connection.fetch(
        "SELECT now() AS now, a.id, a.capacity, a.idle_since, a.skills, a.last_offered_at, "
        "coalesce(("
        "    SELECT jsonb_object_agg(held.channel_type, held.count) FROM ("
        "        SELECT channel_type, count(*) FROM conversations c "
        "        WHERE c.agent_id = a.id AND c.state IN ('offered', 'agent') "
        "        GROUP BY channel_type) AS held"
        "), '{}') AS holding "
        "FROM agents a WHERE a.available AND a.seen_at > now() - make_interval(secs => $1) "
        "AND ($2::text IS NULL OR a.id = $2)",
        presence_seconds,
        agent_id,
    )
    if not rows:
        now = await connection.fetchval("SELECT now()")
        return now, []
    return rows[0]["now"], [
        Candidate(
            row["id"],
            row["capacity"],
            row["holding"],
            row["idle_since"],
            row["skills"],
            row["last_offered_at"],
        )
        for row in rows
    ]


async def try_lock_agent(connection: Connection, agent_id: str) -> bool:
    """Takes the right to offer the agent something until the transaction ends; False if
    another replica has it now."""
    taken: bool = await connection.fetchval(
        "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", AGENT_LOCK, agent_id
    )
    return taken


WAITING_CONSIDERED = 500
"""Queued conversations the router orders by priority at once: the longest waiting."""


ROUTING_COLUMNS = (
    "channel, channel_type, last_intent, "
    "attributes ->> 'language' AS language, attributes ->> 'tier' AS tier"
)
"""The columns routing reads of a conversation (`routing_attributes`)."""


def routing_attributes(row: asyncpg.Record) -> dict[str, str]:
    """What routing's selectors read of a conversation selected with ROUTING_COLUMNS: the
    channel, the customer's language and tier from their start attributes, the bot's last
    intent (those it has)."""
    return {
        name: value
        for name, value in (
            ("channel", row["channel"]),
            ("channelType", row["channel_type"]),
            ("language", row["language"]),
            ("tier", row["tier"]),
            ("intent", row["last_intent"]),
        )
        if value is not None
    }


async def waiting(connection: Connection, channel_types: Sequence[str]) -> list[Waiting]:
    """The queued conversations of `channel_types`, longest waiting first (at most
    WAITING_CONSIDERED), with what routing reads of them: the channel, the customer's language
    and tier from their start attributes, the bot's last intent."""
    rows = await connection.fetch(
        f"SELECT id, {ROUTING_COLUMNS}, declined_by, "
        "extract(epoch FROM now() - queued_at)::float8 AS waited "
        "FROM conversations WHERE state = 'queued' AND channel_type = ANY($1::text[]) "
        "ORDER BY queued_at, id LIMIT $2",
        sorted(channel_types),
        WAITING_CONSIDERED,
    )
    return [
        Waiting(
            id=str(row["id"]),
            channel_type=row["channel_type"],
            attributes=routing_attributes(row),
            waited_seconds=row["waited"],
            declined_by=row["declined_by"],
        )
        for row in rows
    ]


async def lock_waiting(connection: Connection, conversation_id: str) -> bool:
    """Locks the conversation if it is still queued and no other replica is placing it."""
    row = await connection.fetchrow(
        "SELECT id FROM conversations WHERE id = $1::uuid AND state = 'queued' "
        "FOR UPDATE SKIP LOCKED",
        conversation_id,
    )
    return row is not None


async def offered(connection: Connection, agent_id: str) -> None:
    """The agent was just offered a conversation: the round-robin strategy's clock."""
    await connection.execute("UPDATE agents SET last_offered_at = now() WHERE id = $1", agent_id)


@dataclass(frozen=True)
class Expired:
    id: uuid.UUID
    agent_id: str


async def lock_expired_offers(connection: Connection, limit: int = 100) -> list[Expired]:
    """Offers past their time, locked (an accept racing them waits, then finds them gone)."""
    rows = await connection.fetch(
        "SELECT id, agent_id FROM conversations "
        "WHERE state = 'offered' AND offer_expires_at <= now() "
        "ORDER BY offer_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [Expired(row["id"], row["agent_id"]) for row in rows]


# --- one conversation, for its agent -------------------------------------------------------


@dataclass(frozen=True)
class Owned:
    """A conversation as its agent acts on it, read with its row locked."""

    id: uuid.UUID
    state: State
    agent_id: str | None
    channel: str
    in_time: bool
    """Whether its offer has not expired yet (false when it is not offered)."""
    now: datetime
    queued_at: datetime | None
    accepted_at: datetime | None
    attributes: Mapping[str, str]
    """What routing's selectors read of it (`routing_attributes`)."""


async def lock_conversation(connection: Connection, conversation_id: uuid.UUID) -> Owned | None:
    row = await connection.fetchrow(
        f"SELECT id, state, agent_id, {ROUTING_COLUMNS}, queued_at, accepted_at, now() AS now, "
        "coalesce(offer_expires_at > now(), false) AS in_time "
        "FROM conversations WHERE id = $1 FOR UPDATE",
        conversation_id,
    )
    if row is None:
        return None
    return Owned(
        id=row["id"],
        state=State(row["state"]),
        agent_id=row["agent_id"],
        channel=row["channel"],
        in_time=row["in_time"],
        now=row["now"],
        queued_at=row["queued_at"],
        accepted_at=row["accepted_at"],
        attributes=routing_attributes(row),
    )


async def sender_of(connection: Connection, message_id: uuid.UUID) -> str | None:
    sender: str | None = await connection.fetchval(
        "SELECT sender FROM messages WHERE id = $1", message_id
    )
    return sender


# --- what agents see -----------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A conversation as an agent's screen shows it: offered to them, theirs, or one they had
    open that has ended."""

    id: uuid.UUID
    agent_id: str | None
    state: State
    channel: str
    channel_type: str
    customer: str
    last_seq: int
    reason: str | None
    """Why the bot handed it off."""
    waited_seconds: float
    """Since it was queued."""
    expires_in_seconds: float | None
    """For an offer: how long the agent has left to accept it."""

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation": str(self.id),
            "state": self.state.value,
            "channel": self.channel,
            "channel_type": self.channel_type,
            "customer": self.customer,
            "last_seq": self.last_seq,
            "reason": self.reason,
            "waited_seconds": round(self.waited_seconds, 1),
            "expires_in_seconds": (
                None if self.expires_in_seconds is None else round(self.expires_in_seconds, 1)
            ),
        }


async def seen(
    connection: Connection,
    agent_ids: Sequence[str],
    also: Sequence[uuid.UUID] = (),
) -> list[Seen]:
    """The conversations offered to or held by `agent_ids`, and the conversations `also`
    (open on a screen) whatever became of them."""
    rows = await connection.fetch(
        "SELECT id, agent_id, state, channel, channel_type, customer, next_seq AS last_seq, "
        "handoff_reason AS reason, "
        "extract(epoch FROM now() - coalesce(queued_at, created_at))::float8 AS waited_seconds, "
        "CASE WHEN state = 'offered' "
        "    THEN greatest(extract(epoch FROM offer_expires_at - now()), 0)::float8 END "
        "    AS expires_in_seconds "
        "FROM conversations "
        "WHERE (agent_id = ANY($1::text[]) AND state IN ('offered', 'agent')) "
        "    OR id = ANY($2::uuid[]) "
        "ORDER BY queued_at, id",
        list(agent_ids),
        list(also),
    )
    return [Seen(**{**row, "state": State(row["state"])}) for row in rows]


@dataclass(frozen=True)
class QueueSummary:
    """Conversations waiting for an agent: queued (not offered yet) and offered."""

    queued: int
    offered: int
    oldest_wait_seconds: float
    """Of the conversation waiting longest since its handoff (0 for none)."""
    queued_by_channel_type: Mapping[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "offered": self.offered,
            "oldest_wait_seconds": round(self.oldest_wait_seconds),
            "queued_by_channel_type": dict(self.queued_by_channel_type),
        }


async def queue_summary(connection: Connection) -> QueueSummary:
    rows = await connection.fetch(
        "SELECT state, channel_type, count(*) AS count, "
        "extract(epoch FROM now() - min(queued_at))::float8 AS oldest "
        "FROM conversations WHERE state IN ('queued', 'offered') GROUP BY state, channel_type"
    )
    queued = {row["channel_type"]: row["count"] for row in rows if row["state"] == "queued"}
    return QueueSummary(
        queued=sum(queued.values()),
        offered=sum(row["count"] for row in rows if row["state"] == "offered"),
        oldest_wait_seconds=max((row["oldest"] or 0.0 for row in rows), default=0.0),
        queued_by_channel_type=queued,
    )
