"""What an agent does, whichever way they connect (the web UI's WebSocket or the REST API):
sign in, availability, accept, read, reply, resolve. Each action is one transaction; what it
stored is announced once it committed, and the contract is recorded where it happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import asyncpg

from switchboard.dataplane.agents import queries
from switchboard.dataplane.agents.protocol import SignIn
from switchboard.dataplane.agents.queries import Agent, QueueSummary, Seen
from switchboard.dataplane.agents.routing import Policy
from switchboard.dataplane.agents.rules import (
    Acceptance,
    id_taken,
    may_accept,
    may_read,
    may_resolve,
    may_write,
    not_signed_in,
)
from switchboard.dataplane.announce import announce
from switchboard.dataplane.conversation import State, Step
from switchboard.dataplane.envelope import AgentNudge
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import (
    Connection,
    Conversation,
    Message,
    add_message,
    fetch_conversation,
    move,
)
from switchboard.dataplane.topology import agent_deliveries
from switchboard.dataplane.wiring import AgentsWiring

PRESENCE_SECONDS = 30.0
"""An agent not seen for this long (no connection, no request) is offered nothing."""


class Workspace:
    def __init__(
        self,
        runtime: Runtime,
        wiring: AgentsWiring,
        policy: Policy,
        wake_router: Callable[[], None],
    ) -> None:
        self.runtime = runtime
        self.wiring = wiring
        self.policy = policy
        self._wake_router = wake_router

    @property
    def pii_masking(self) -> bool:
        """Whether agents see customers' personal data masked."""
        return self.runtime.wiring.pii_masking

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement (no transaction around it)."""
        return self.runtime.store.pool.acquire()

    # --- agents ------------------------------------------------------------------------

    async def sign_in(self, agent_id: str, request: SignIn) -> Agent:
        async with self._connection() as connection:
            agent = await queries.sign_in(
                connection,
                agent_id,
                request.name,
                request.capacity,
                request.skills,
                request.available,
                PRESENCE_SECONDS,
            )
        self._wake_router()
        return agent

    async def set_available(self, agent_id: str, available: bool) -> Agent:
        async with self._connection() as connection:
            agent = await queries.set_available(connection, agent_id, available)
        if agent is None:
            raise not_signed_in(agent_id)
        self._wake_router()
        return agent

    async def here(self, agent_id: str) -> Agent:
        """The signed-in agent of that id, marked present (every request of theirs does)."""
        async with self._connection() as connection:
            agent = await queries.touch(connection, agent_id)
        if agent is None:
            raise not_signed_in(agent_id)
        return agent

    async def present(self, agent_ids: list[str]) -> None:
        """The agents connected to this replica are here."""
        async with self._connection() as connection:
            await queries.touch_all(connection, agent_ids)

    async def away(self, agent_id: str) -> None:
        async with self._connection() as connection:
            await queries.away(connection, agent_id, PRESENCE_SECONDS)

    async def release(self, agent_id: str) -> None:
        """A conversation of the agent ended elsewhere (the customer left)."""
        async with self._connection() as connection:
            await queries.release(connection, agent_id)

    # --- what they see -----------------------------------------------------------------

    async def queue(self) -> QueueSummary:
        async with self._connection() as connection:
            return await queries.queue_summary(connection)

    async def seen(self, agent_ids: list[str], also: list[uuid.UUID] | None = None) -> list[Seen]:
        async with self._connection() as connection:
            return await queries.seen(connection, agent_ids, also or [])

    async def offers(self, agent: Agent) -> list[Seen]:
        return [seen for seen in await self.seen([agent.id]) if seen.state is State.OFFERED]

    async def check_readable(self, agent: Agent, conversation_id: uuid.UUID) -> State:
        """The conversation's state; refused unless the agent accepted it."""
        async with self._connection() as connection:
            row = await fetch_conversation(connection, conversation_id)
        may_read(conversation_id, row, agent.id)
        assert row is not None
        return row.state

    async def transcript(
        self, agent: Agent, conversation_id: uuid.UUID, after: int
    ) -> tuple[State, list[Message]]:
        """The conversation's state and its messages after `after`."""
        state = await self.check_readable(agent, conversation_id)
        return state, await self.runtime.store.messages_after(conversation_id, after)

    # --- what they do ------------------------------------------------------------------

    async def accept(self, agent: Agent, conversation_id: uuid.UUID) -> None:
        """Takes an offered conversation (a retry of an accept is answered the same)."""
        runtime = self.runtime
        async with runtime.store.transaction() as connection:
            row = await queries.lock_conversation(connection, conversation_id)
            decision = may_accept(conversation_id, row, agent.id, row is not None and row.in_time)
            taken = None
            if decision is Acceptance.ACCEPT:
                assert row is not None
                taken = await self._take(connection, row, agent)
        if taken is not None:
            assert row is not None and row.queued_at is not None
            conversation, joined = taken
            runtime.metrics.answered(
                row.channel,
                "agent",
                (row.now - row.queued_at).total_seconds(),
                runtime.wiring.service_level.answer_within_seconds,
            )
            await announce(runtime, conversation, joined)
            await self._nudge(AgentNudge(kind="accepted", conversation=row.id, agent=agent.id))

    async def _take(
        self, connection: Connection, row: queries.Owned, agent: Agent
    ) -> tuple[Conversation, Message]:
        """Moves an offered conversation to its agent and tells the customer who joined."""
        conversation = await move(
            connection,
            row.id,
            Step.ACCEPT,
            actor=agent.id,
            assignments={"accepted_at": row.now},
            only_if={"agent_id": agent.id},
            data={"replica": self.runtime.wiring.replica},
        )
        assert conversation is not None  # the row is locked and offered to this agent
        joined = await add_message(
            connection, row.id, uuid.uuid4(), "system", agent.name, f"{agent.name} joined"
        )
        return conversation, joined.message

    async def reply(
        self, agent: Agent, conversation_id: uuid.UUID, message_id: uuid.UUID, text: str
    ) -> Message:
        """Stores the agent's message (a resend of an `id` is the message stored before)."""
        async with self.runtime.store.transaction() as connection:
            row = await fetch_conversation(connection, conversation_id, for_update=True)
            may_write(conversation_id, row, agent.id)
            assert row is not None
            try:
                stored = await add_message(
                    connection, conversation_id, message_id, "agent", agent.name, text
                )
            except asyncpg.UniqueViolationError:  # the id of another conversation's message
                raise id_taken(message_id) from None
            if not stored.inserted and await queries.sender_of(connection, message_id) != "agent":
                raise id_taken(message_id)  # not a resend: someone else's message has that id
        await announce(self.runtime, row, stored.message)
        return stored.message

    async def resolve(self, agent: Agent, conversation_id: uuid.UUID) -> None:
        runtime = self.runtime
        async with runtime.store.transaction() as connection:
            row = await queries.lock_conversation(connection, conversation_id)
            if not may_resolve(conversation_id, row, agent.id):
                return
            assert row is not None and row.accepted_at is not None
            closing = await add_message(
                connection,
                conversation_id,
                uuid.uuid4(),
                "system",
                agent.name,
                f"{agent.name} resolved the conversation",
            )
            said = [closing.message]
            ended: dict[str, Any] = {"ended_at": row.now}
            survey = self.wiring.survey
            if survey is not None:
                # The customer's next message that is a rating answers it (the gateway).
                asked = await add_message(
                    connection, conversation_id, uuid.uuid4(), "system", None, survey.question
                )
                said.append(asked.message)
                ended |= {
                    "survey": "csat",
                    "survey_followup": survey.nps_question if survey.nps else None,
                    "survey_until": row.now + timedelta(seconds=survey.answer_within_seconds),
                }
            resolved = await move(
                connection,
                conversation_id,
                Step.RESOLVE,
                actor=agent.id,
                assignments=ended,
                only_if={"agent_id": agent.id},
                data={"replica": runtime.wiring.replica},
            )
            assert resolved is not None  # the row is locked and held by this agent
            await queries.release(connection, agent.id)
        runtime.metrics.handled(
            row.channel,
            "agent",
            (row.now - row.accepted_at).total_seconds(),
            self.policy.queue_of(row.attributes).name if self.policy.queues else None,
        )
        runtime.metrics.resolved(row.channel)
        for message in said:
            await announce(runtime, resolved, message)
        await self._nudge(AgentNudge(kind="ended", conversation=conversation_id, agent=agent.id))
        self._wake_router()

    async def _nudge(self, nudge: AgentNudge) -> None:
        await self.runtime.bus.publish_delivery(agent_deliveries(nudge.kind), nudge)
