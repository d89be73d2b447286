"""What a customer does to a conversation, whichever channel they come through: start it, send a
message, read what was stored, leave. Each stores first and hands on after (docs/dataplane.md).

- A start picks the bot track by the routing weights and records it with its model version; a
  retried start finds the same conversation. A new one counts as an arrival.
- A message is stored (a resend of the same id is the same message, with the same seq), then
  handed to whoever answers it: work for the bot of the conversation's track, or an announce
  for the agent. It is acknowledged only once both are done.
- Leaving locks the conversation's row and moves it with a compare-and-set, so a leave racing a
  handoff or an accept ends it one way only; what it ends is counted after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from switchboard.dataplane.announce import announce
from switchboard.dataplane.bus import PublishFailed
from switchboard.dataplane.conversation import OPEN_STATES, Route, State, departure, route, target
from switchboard.dataplane.envelope import AgentNudge, CustomerTurn
from switchboard.dataplane.gateway import survey
from switchboard.dataplane.gateway.accounting import Tally, tally
from switchboard.dataplane.gateway.protocol import GUEST, Code, ProtocolError
from switchboard.dataplane.gateway.routing import choose_track
from switchboard.dataplane.gateway.routing_file import RoutingFile
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import (
    Connection,
    Conversation,
    ConversationNotFound,
    Message,
    fetch_conversation,
    move,
)
from switchboard.dataplane.topology import agent_deliveries
from switchboard.dataplane.wiring import GatewayWiring

# A store or broker outage, as it reaches a request: the client is told to try again later.
# (Other database errors are bugs, and are not dressed up as outages.)
OUTAGES = (
    OSError,
    TimeoutError,
    PublishFailed,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


@dataclass(frozen=True)
class Ending:
    conversation: Conversation
    """As it was when the customer left."""
    state: State
    """How it ended: resolved or abandoned."""
    tally: Tally


def unanswered(conversation: Conversation, seq: int) -> bool:
    """Whether the customer message at `seq` still waits for the bot."""
    return conversation.state is State.BOT and seq > conversation.bot_cursor


def unknown(conversation_id: uuid.UUID) -> ProtocolError:
    return ProtocolError(
        Code.UNKNOWN_CONVERSATION, f"no conversation {conversation_id} on this channel"
    )


class Conversations:
    def __init__(self, channel: GatewayWiring, routing: RoutingFile) -> None:
        self.channel = channel
        self.routing = routing
        self._runtime: Runtime | None = None

    def attach(self, runtime: Runtime) -> None:
        """Starts serving, once the store and the bus are there."""
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise ProtocolError(Code.UNAVAILABLE, "the gateway is starting; try again shortly")
        return self._runtime

    async def start(
        self,
        conversation_id: uuid.UUID,
        *,
        customer: str,
        attributes: Mapping[str, Any],
        webhook: str | None,
    ) -> tuple[Conversation, bool]:
        """The conversation of that id, started now on a weighted bot track, or as it was
        started before by the same customer; and whether it is new."""
        runtime = self.runtime
        routing = self.routing.current()
        if routing is None:
            raise ProtocolError(Code.UNAVAILABLE, "no bot routing yet; try again shortly")
        track = choose_track(routing, conversation_id)
        conversation, new = await runtime.store.start_conversation(
            conversation_id,
            channel=self.channel.channel,
            channel_type=self.channel.channel_type,
            customer=customer,
            track=track.track,
            model_version=track.version,
            attributes=attributes,
            webhook=webhook,
        )
        if new:
            runtime.metrics.arrived(self.channel.channel)
            # Its outcome will count under its version: that series must exist from now.
            runtime.metrics.bot_model(track.version)
            if customer != GUEST:  # guests are anyone: no repeat can be told apart
                window = self.channel.repeat_window_seconds
                repeated = await runtime.store.repeat_contact(conversation_id, customer, window)
                for channel in repeated:
                    runtime.metrics.repeat_contact(channel)
        elif conversation.channel != self.channel.channel or conversation.customer != customer:
            raise ProtocolError(
                Code.CONFLICT, f"conversation {conversation_id} was started by someone else"
            )
        return conversation, new

    async def find(self, conversation_id: uuid.UUID) -> Conversation:
        """The conversation of that id on this channel, open or ended."""
        conversation = await self.runtime.store.conversation(conversation_id)
        if conversation is None or conversation.channel != self.channel.channel:
            raise unknown(conversation_id)
        return conversation

    async def find_locked(self, connection: Connection, conversation_id: uuid.UUID) -> Conversation:
        """The conversation of that id on this channel, its row locked by the caller's
        transaction."""
        conversation = await fetch_conversation(connection, conversation_id, for_update=True)
        if conversation is None or conversation.channel != self.channel.channel:
            raise unknown(conversation_id)
        return conversation

    async def send(self, conversation: Conversation, message_id: uuid.UUID, text: str) -> Message:
        """Stores the customer's message and hands it on; returns it with its seq."""
        runtime = self.runtime
        try:
            stored = await runtime.store.add_message(
                conversation.id, message_id, sender="customer", body=text
            )
        except ConversationNotFound:
            answer = await self.answer_survey(conversation, message_id, text)
            if answer is None:
                raise ProtocolError(Code.CLOSED, "the conversation has ended") from None
            return answer
        except asyncpg.UniqueViolationError:
            raise ProtocolError(
                Code.CONFLICT, f"message id {message_id} is taken by another conversation"
            ) from None
        message = stored.message
        handler = route(stored.state, stored.admitted)
        if handler in (Route.BOT, Route.BOT_NEW):
            turn = CustomerTurn(
                conversation=conversation.id,
                seq=message.seq,
                message=message.id,
                text=message.body,
                channel=conversation.channel,
                channel_type=conversation.channel_type,
            )
            queue = runtime.topology.bot_queue(conversation.track, admitted=handler is Route.BOT)
            await runtime.bus.publish_work(queue, turn, str(message.id))
        elif handler is Route.AGENT:
            # The agent's id and the state may have moved since the client started.
            current = await runtime.store.conversation(conversation.id)
            if current is not None:
                await announce(runtime, current, message)
        # Route.CLOSED: a resend of a message stored before the conversation ended; the
        # client is told its seq again, and nobody needs it any more.
        return message

    async def answer_survey(
        self, conversation: Conversation, message_id: uuid.UUID, text: str
    ) -> Message | None:
        """A message to an ended conversation, stored as the answer to its survey; None when
        it is none (no open question, or not a score)."""
        runtime = self.runtime
        async with runtime.store.transaction() as connection:
            answered = await survey.answer(connection, conversation, message_id, text)
        if answered is None:
            return None
        runtime.metrics.survey_response(conversation.channel, answered.survey, answered.score)
        if answered.asked:
            ended = await runtime.store.conversation(conversation.id)
            assert ended is not None
            for question in answered.asked:
                await announce(runtime, ended, question)
        return answered.message

    async def hand_on_again(
        self, conversation_id: uuid.UUID, seq: int, message_id: uuid.UUID, text: str
    ) -> None:
        """A customer message stored before whose hand-on may have failed (the broker went
        away after the store, and the sender retried) is handed on again while the bot has not
        answered it; resending it stores nothing."""
        conversation = await self.find(conversation_id)
        if unanswered(conversation, seq):
            await self.send(conversation, message_id, text)

    async def leave(self, conversation_id: uuid.UUID) -> State:
        """The customer leaves now (an explicit end); returns the state it ended in (or had
        ended in before: leaving twice is leaving once)."""
        runtime = self.runtime
        async with runtime.store.transaction() as connection:
            conversation = await self.find_locked(connection, conversation_id)
            if conversation.state not in OPEN_STATES:
                return conversation.state
            ended_at = await connection.fetchval("SELECT now()")
            ending = await self.end_locked(connection, conversation, ended_at, "left")
        await self.tell(ending)
        return ending.state

    async def end_locked(
        self, connection: Connection, conversation: Conversation, ended_at: datetime, reason: str
    ) -> Ending:
        """Ends an open conversation whose row the caller's transaction has locked; `tell`
        the ending once that transaction committed."""
        leaving = departure(conversation.state, conversation.bot_answered_at is not None)
        await move(
            connection,
            conversation.id,
            leaving.step,
            actor=conversation.customer,
            assignments={"ended_at": ended_at},
            only_if={"state": conversation.state.value},
            data={"reason": reason, "waiting_for": leaving.waiting_for},
        )
        return Ending(conversation, target(leaving.step), tally(conversation, leaving, ended_at))

    async def tell(self, ending: Ending) -> None:
        """Counts what an ending ended and tells the agents tier if it held the conversation."""
        runtime = self.runtime
        ending.tally.record(runtime.metrics)
        if ending.tally.tell_agents:
            nudge = AgentNudge(
                kind="ended",
                conversation=ending.conversation.id,
                agent=ending.conversation.agent_id,
            )
            await runtime.bus.publish_delivery(agent_deliveries("ended"), nudge)
