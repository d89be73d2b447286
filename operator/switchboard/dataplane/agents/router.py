"""The router, in every replica: offers waiting conversations to agents, and takes back offers
not accepted in time. Runs when nudged (a handoff, an agent's sign-in, availability or resolve,
a conversation ending) and every second as a safety net.

One assignment is one transaction: the first conversation in line (the highest effective
priority, then the longest waiting: `routing.in_order`) that some agent may take, locked with
FOR UPDATE SKIP LOCKED, and the best agent for it (`routing.rank`: skills, overflow, the
queue's strategy) that no other replica is placing a conversation with, so replicas routing at
once place different conversations with different agents, and never one twice. The agent is
taken with a transaction-scoped advisory try-lock rather than a row lock: their row is also
written by every request of theirs (presence), and a router must not skip the longest-idle
agent because their browser just said hello. The tick also makes overflows fire: a contact's
wait is read again each time, so it reaches its overflow queues' agents within a second of
each timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import asyncpg

from switchboard.dataplane.agents import queries
from switchboard.dataplane.agents.routing import Policy, channel_types_with_room, in_order, rank
from switchboard.dataplane.agents.workspace import PRESENCE_SECONDS
from switchboard.dataplane.conversation import Step
from switchboard.dataplane.envelope import AgentNudge
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Connection, move
from switchboard.dataplane.topology import agent_deliveries
from switchboard.dataplane.waiting import set_within

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 1.0


class Router:
    def __init__(self, runtime: Runtime, offer_timeout_seconds: float, policy: Policy) -> None:
        self.runtime = runtime
        self.offer_timeout = timedelta(seconds=offer_timeout_seconds)
        self.policy = policy
        self._nudged = asyncio.Event()

    def wake(self) -> None:
        """Route now rather than at the next tick."""
        self._nudged.set()

    async def run(self) -> None:
        while True:
            await set_within(self._nudged, TICK_SECONDS)
            self._nudged.clear()
            try:
                await self.route()
                await self.expire_offers()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                logger.exception("routing failed; trying again")
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def route(self) -> int:
        """Makes offers while there are conversations and agents with room; returns how many."""
        offers = 0
        while (offered := await self.offer_one()) is not None:
            offers += 1
            conversation, agent = offered
            await self._nudge(AgentNudge(kind="offer", conversation=conversation, agent=agent))
        return offers

    async def offer_one(self) -> tuple[uuid.UUID, str] | None:
        """Offers the first conversation in line (by effective priority, `routing.in_order`)
        that an agent may take to the best such agent (`routing.rank`), in one transaction;
        returns the conversation and the agent, or None if no offer was made."""
        async with self.runtime.store.transaction() as connection:
            now, candidates = await queries.candidates(connection, PRESENCE_SECONDS)
            channel_types = channel_types_with_room(candidates)
            if not channel_types:
                return None
            waiting = await queries.waiting(connection, sorted(channel_types))
            for conversation in in_order(self.policy, waiting):
                ranked = rank(self.policy, conversation, candidates)
                if not ranked or not await queries.lock_waiting(connection, conversation.id):
                    continue
                agent = await self._lock_agent(connection, ranked, conversation.channel_type)
                if agent is not None:
                    break
            else:
                return None
            conversation_id = uuid.UUID(conversation.id)
            await move(
                connection,
                conversation_id,
                Step.OFFER,
                actor=agent,
                assignments={
                    "agent_id": agent,
                    "offered_at": now,
                    "offer_expires_at": now + self.offer_timeout,
                },
                data={"replica": self.runtime.wiring.replica},
            )
            await queries.offered(connection, agent)
        return conversation_id, agent

    async def _lock_agent(
        self, connection: Connection, ranked: list[str], channel_type: str
    ) -> str | None:
        """The first of `ranked` no other replica is placing a conversation with and who,
        counted under that lock, still has room (offers are made only under it, so what an
        agent holds cannot grow behind our back)."""
        for agent_id in ranked:
            if not await queries.try_lock_agent(connection, agent_id):
                continue
            _, now_seen = await queries.candidates(connection, PRESENCE_SECONDS, agent_id)
            if now_seen and now_seen[0].room(channel_type) > 0:
                return agent_id
        return None

    async def expire_offers(self) -> int:
        """Puts offers not accepted in time back in line, at their place (`queued_at` is kept),
        marked declined by the agent they were offered to; returns how many."""
        async with self.runtime.store.transaction() as connection:
            expired = await queries.lock_expired_offers(connection)
            for offer in expired:
                await move(
                    connection,
                    offer.id,
                    Step.OFFER_EXPIRED,
                    actor=offer.agent_id,
                    assignments={
                        "agent_id": None,
                        "declined_by": offer.agent_id,
                        "offered_at": None,
                        "offer_expires_at": None,
                    },
                    only_if={"agent_id": offer.agent_id},
                    data={"replica": self.runtime.wiring.replica},
                )
            for agent_id in sorted({offer.agent_id for offer in expired}):
                await queries.release(connection, agent_id)
        for offer in expired:
            await self._nudge(
                AgentNudge(kind="offer_expired", conversation=offer.id, agent=offer.agent_id)
            )
        return len(expired)

    async def _nudge(self, nudge: AgentNudge) -> None:
        await self.runtime.bus.publish_delivery(agent_deliveries(nudge.kind), nudge)
