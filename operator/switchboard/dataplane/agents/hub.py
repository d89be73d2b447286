"""The agents connected to this replica, and keeping their screens current.

Every replica receives every agent nudge (`agent.#`) and acts on those of the agents it holds:
an offer or a conversation's end re-reads that agent's conversations; a message is pushed to the
connections showing its conversation. Each connection keeps a cursor per conversation it shows,
so it never sends a stored message twice, and reads from the store what a lost nudge did not
bring. Once a second it re-reads all its agents' conversations anyway (nudges only hurry it),
pushes the queue's figures, and every few seconds marks its agents present.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import pydantic
from aiohttp import web

from switchboard.dataplane.agents.queries import Agent, Seen
from switchboard.dataplane.agents.router import Router
from switchboard.dataplane.agents.workspace import Workspace
from switchboard.dataplane.conversation import State
from switchboard.dataplane.envelope import AgentNudge, Delivery
from switchboard.dataplane.masking import mask_pii
from switchboard.dataplane.store import Message

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
HEARTBEAT_SECONDS = 10.0
ENDED = frozenset({State.RESOLVED, State.ABANDONED})


class Push(enum.Enum):
    """What to do with a pushed message, given the connection's cursor."""

    DROP = "drop"
    """Already shown."""
    SEND = "send"
    """The next one: send it as it came."""
    CATCH_UP = "catch-up"
    """Some before it were missed: read from the store what comes after the cursor."""


def on_push(cursor: int, seq: int) -> Push:
    if seq <= cursor:
        return Push.DROP
    return Push.SEND if seq == cursor + 1 else Push.CATCH_UP


@dataclass(frozen=True)
class Changes:
    """What a connection should be told, from a fresh read of its agent's conversations."""

    offers: list[Seen] | None
    """The offers, when they differ from those shown."""
    held: list[Seen] | None
    """The conversations the agent holds, when they differ from those shown."""
    behind: list[uuid.UUID]
    """Conversations shown that have messages after their cursor."""
    ended: list[Seen]
    """Conversations shown that ended (or left the agent): to catch up, then close."""


def changes(
    agent: str,
    seen: Iterable[Seen],
    shown_offers: frozenset[uuid.UUID] | None,
    shown_held: frozenset[uuid.UUID] | None,
    cursors: Mapping[uuid.UUID, int],
) -> Changes:
    rows = {row.id: row for row in seen}
    offers = [r for r in rows.values() if r.agent_id == agent and r.state is State.OFFERED]
    held = [r for r in rows.values() if r.agent_id == agent and r.state is State.AGENT]
    shown = [rows[shown_id] for shown_id in cursors if shown_id in rows]
    return Changes(
        offers=offers if frozenset(r.id for r in offers) != shown_offers else None,
        held=held if frozenset(r.id for r in held) != shown_held else None,
        behind=[r.id for r in shown if r.last_seq > cursors[r.id]],
        ended=[r for r in shown if r.state in ENDED or r.agent_id != agent],
    )


def shown(message: Message | Delivery, *, masking: bool) -> dict[str, Any]:
    """A message as agents are shown it, from the store or from a nudge (the same fields): a
    customer's with personal data masked when `masking` (`spec.dataProtection.piiMasking`)."""
    if isinstance(message, Message):
        fields = message.as_json()
    else:
        fields = message.model_dump(mode="json", exclude={"channel", "ended"})
    if masking and fields["sender"] == "customer":
        fields["text"] = mask_pii(fields["text"])
    return fields


def message_frame(message: Message | Delivery, *, masking: bool) -> dict[str, Any]:
    return {"type": "message", **shown(message, masking=masking)}


def seen_frame(kind: Literal["offers", "conversations"], rows: Sequence[Seen]) -> dict[str, Any]:
    return {"type": kind, kind: [row.as_json() for row in rows]}


class Connection:
    """One agent's WebSocket: what it has been shown, and the only way frames reach it."""

    def __init__(self, agent: Agent, socket: web.WebSocketResponse, workspace: Workspace) -> None:
        self.agent = agent
        self.socket = socket
        self.workspace = workspace
        self.cursors: dict[uuid.UUID, int] = {}
        self.shown_offers: frozenset[uuid.UUID] | None = None
        self.shown_held: frozenset[uuid.UUID] | None = None
        self.shown_queue: dict[str, Any] | None = None
        self._screen = asyncio.Lock()
        self._sending = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        if self.socket.closed:
            return
        async with self._sending:
            with contextlib.suppress(ConnectionError):
                await self.socket.send_json(frame)

    async def open(self, conversation_id: uuid.UUID, after: int) -> None:
        """Shows a conversation from after `after` on (0: its whole transcript)."""
        async with self._screen:
            self.cursors[conversation_id] = after
            await self._catch_up(conversation_id)

    async def push(self, conversation_id: uuid.UUID, seq: int, frame: dict[str, Any]) -> None:
        """A message stored as `seq` of a conversation, with its frame: sent if it is the next
        one this connection shows, read from the store with those missed before it if not."""
        async with self._screen:
            cursor = self.cursors.get(conversation_id)
            if cursor is None:
                return
            step = on_push(cursor, seq)
            if step is Push.SEND:
                await self.send(frame)
                self.cursors[conversation_id] = seq
            elif step is Push.CATCH_UP:
                await self._catch_up(conversation_id)

    async def show(self, seen: Sequence[Seen]) -> None:
        async with self._screen:
            update = changes(self.agent.id, seen, self.shown_offers, self.shown_held, self.cursors)
            if update.offers is not None:
                await self.send(seen_frame("offers", update.offers))
                self.shown_offers = frozenset(row.id for row in update.offers)
            for conversation_id in update.behind:
                await self._catch_up(conversation_id)
            for row in update.ended:
                del self.cursors[row.id]
                await self.send(
                    {"type": "ended", "conversation": str(row.id), "state": row.state.value}
                )
            if update.held is not None:
                await self.send(seen_frame("conversations", update.held))
                self.shown_held = frozenset(row.id for row in update.held)

    async def show_queue(self, figures: dict[str, Any]) -> None:
        if figures != self.shown_queue:
            self.shown_queue = figures
            await self.send({"type": "queue", **figures})

    async def _catch_up(self, conversation_id: uuid.UUID) -> None:
        cursor = self.cursors[conversation_id]
        for message in await self.workspace.runtime.store.messages_after(conversation_id, cursor):
            await self.send(message_frame(message, masking=self.workspace.pii_masking))
            self.cursors[conversation_id] = message.seq


class Hub:
    def __init__(self, workspace: Workspace, router: Router) -> None:
        self.workspace = workspace
        self.router = router
        self.connections: dict[str, list[Connection]] = {}
        self._signals: dict[str, asyncio.Event] = {}
        self._presence: dict[str, asyncio.Lock] = {}

    @property
    def agents(self) -> list[str]:
        return sorted(self.connections)

    def _all(self) -> list[Connection]:
        return [connection for group in self.connections.values() for connection in group]

    def presence(self, agent_id: str) -> asyncio.Lock:
        """Held while an agent's connection here signs in (until it is added) and while one is
        removed: a dropped connection whose agent is back at once must not date their presence
        back after the new one signed in (they would not be offered anything until their next
        heartbeat)."""
        return self._presence.setdefault(agent_id, asyncio.Lock())

    def add(self, connection: Connection) -> None:
        self.connections.setdefault(connection.agent.id, []).append(connection)

    async def remove(self, connection: Connection) -> None:
        """Forgets a closed connection; the agent's last one here makes them away."""
        async with self.presence(connection.agent.id):
            held = self.connections.get(connection.agent.id, [])
            if connection in held:
                held.remove(connection)
            if not held:
                self.connections.pop(connection.agent.id, None)
                await self.workspace.away(connection.agent.id)

    def signal(self, agent_id: str) -> asyncio.Event:
        """An event set when something for the agent happens next (for a REST long poll:
        take it before reading, then wait on it)."""
        return self._signals.setdefault(agent_id, asyncio.Event())

    def _notify(self, agent_id: str) -> None:
        event = self._signals.pop(agent_id, None)
        if event is not None:
            event.set()

    async def on_delivery(self, body: bytes, _: str) -> None:
        """An agent nudge from any replica."""
        try:
            nudge = AgentNudge.model_validate_json(body)
        except pydantic.ValidationError:
            logger.warning("ignored a malformed agent nudge: %r", body[:200])
            return
        if nudge.kind in ("queue", "offer_expired", "ended"):
            self.router.wake()
        if nudge.agent is None:
            return
        if nudge.kind == "ended":
            await self.workspace.release(nudge.agent)
        if nudge.kind == "message" and nudge.delivery is not None:
            delivery = nudge.delivery
            frame = message_frame(delivery, masking=self.workspace.pii_masking)
            await asyncio.gather(
                *(
                    connection.push(delivery.conversation, delivery.seq, frame)
                    for connection in self.connections.get(nudge.agent, [])
                )
            )
        elif nudge.kind != "queue":
            await self.refresh([nudge.agent])
        self._notify(nudge.agent)

    async def refresh(self, agent_ids: Sequence[str] | None = None) -> None:
        """Re-reads the conversations of `agent_ids` (all held here by default) and tells
        their connections what changed."""
        agents = self.agents if agent_ids is None else list(agent_ids)
        connections = [c for agent in agents for c in self.connections.get(agent, [])]
        if not connections:
            return
        shown = sorted({shown_id for c in connections for shown_id in c.cursors})
        seen = await self.workspace.seen(agents, shown)
        # At once: an agent whose browser reads slowly holds up nobody else's screen.
        await asyncio.gather(*(connection.show(seen) for connection in connections))

    async def run(self) -> None:
        """Refreshes every connection once a second; marks its agents present."""
        loop = asyncio.get_running_loop()
        last_heartbeat = 0.0
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                if self.connections:
                    await self.refresh()
                    figures = (await self.workspace.queue()).as_json()
                    await asyncio.gather(*(c.show_queue(figures) for c in self._all()))
                if self.connections and loop.time() - last_heartbeat >= HEARTBEAT_SECONDS:
                    last_heartbeat = loop.time()
                    await self.workspace.present(self.agents)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                logger.exception("refreshing the agents' screens failed; trying again")

    async def resync(self) -> None:
        """After a reconnect to the broker: nudges may have been lost; read everything."""
        self.router.wake()
        await self.refresh()
        for agent_id in list(self._signals):
            self._notify(agent_id)

    async def close(self) -> None:
        """Closes every connection (the replica stops): agents reconnect to another."""
        for connection in self._all():
            await connection.socket.close(code=1001, message=b"the workspace is stopping")
