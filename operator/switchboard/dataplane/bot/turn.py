"""A customer turn, from the stored message to the stored reply (docs/dataplane.md, "The bot's
turn").

The customer messages of a conversation are answered in `seq` order, each exactly once in
effect: `bot_cursor` is the last customer `seq` the bot handled. A message at or below it is a
redelivery (its stored reply is announced again); a message with an earlier customer message
still unanswered waits for it, briefly, then goes back to the queue; a conversation no longer
with the bot only moves the cursor (an agent has it: the bot stays silent). Otherwise the bot
understands the message outside any transaction (a remote model may take a while), then, with
the conversation's row locked and its state and cursor unchanged, decides, stores the reply,
moves the cursor and, on a handoff or a goodbye, moves the conversation, in one transaction.

Durations come from the database's clock: `now()` of the transaction, which is also the reply's
`created_at`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.dataplane.bot.decision import (
    Action,
    Memory,
    Stage,
    Turn,
    Understanding,
    decide_turn,
)
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.bot.sentiment import SentimentScorer
from switchboard.dataplane.bot.understanding import Line, Understander
from switchboard.dataplane.conversation import State, Step, reply_id
from switchboard.dataplane.envelope import CustomerTurn
from switchboard.dataplane.store import (
    Connection,
    Conversation,
    Message,
    Store,
    add_message,
    fetch_conversation,
    message_from_row,
    move,
)
from switchboard.dataplane.wiring import HandoffWiring

logger = logging.getLogger(__name__)

ORDER_PATIENCE_SECONDS = 5.0
ORDER_POLL_SECONDS = 0.05


class OutOfOrder(Exception):
    """An earlier customer message of the conversation is still unanswered."""


@dataclass(frozen=True)
class Timings:
    """Durations of an answered turn, by the database's clock (seconds)."""

    turn: float
    """The customer message stored to the reply stored."""
    first_answer_wait: float | None
    """Arrival to this answer, if it is the conversation's first."""
    with_bot: float | None
    """Admission to now, if the conversation leaves the bot with this turn."""


@dataclass(frozen=True)
class _Position:
    state: State
    bot_cursor: int
    next_message: Message | None
    """The first customer message after the cursor."""


@dataclass(frozen=True)
class TurnResult:
    conversation: Conversation | None
    """As it is after the turn, if there is a reply to announce."""
    replies: tuple[Message, ...] = ()
    """The bot's stored replies to the message: to announce (again, for a redelivery)."""
    turn: Turn | None = None
    """What the bot decided, if it answered the message now."""
    timings: Timings | None = None
    sentiment: float | None = None
    """The score of the customer message, if the bot answered it now."""


class Turns:
    """Takes the customer turns of the conversations one model serves."""

    def __init__(
        self,
        store: Store,
        model: DialogueModel,
        understander: Understander,
        scorer: SentimentScorer,
        handoff: HandoffWiring,
        actor: str,
    ) -> None:
        self.store = store
        self.model = model
        self.understander = understander
        self.scorer = scorer
        self.handoff = handoff
        self.actor = actor

    async def take(self, work: CustomerTurn) -> TurnResult:
        deadline = time.monotonic() + ORDER_PATIENCE_SECONDS
        while True:
            position = await self._position(work.conversation)
            if position is None:
                logger.warning("a turn of conversation %s, which is not stored", work.conversation)
                return TurnResult(None)
            if work.seq <= position.bot_cursor:
                return await self._replay(work)
            if position.state is not State.BOT:
                await self._pass(work)
                return TurnResult(None)
            message = position.next_message
            if message is None or message.seq > work.seq:
                logger.warning(
                    "a turn of conversation %s names seq %s, which is no customer message",
                    work.conversation,
                    work.seq,
                )
                return TurnResult(None)
            if message.seq < work.seq:
                if time.monotonic() > deadline:
                    raise OutOfOrder(f"seq {message.seq} of {work.conversation} is unanswered")
                await asyncio.sleep(ORDER_POLL_SECONDS)
                continue
            understanding = await self.understander.understand(
                message.body, work.conversation, await self._history(message)
            )
            sentiment = self.scorer.score(message.body)
            result = await self._answer(position.bot_cursor, message, understanding, sentiment)
            if result is not None:
                return result
            # the conversation moved while the message was being understood: look again

    async def _position(self, conversation_id: uuid.UUID) -> _Position | None:
        """The conversation's state, cursor and first customer message after the cursor, in
        one round trip."""
        async with self.store.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT c.state, c.bot_cursor, m.seq, m.id, m.sender, m.author, m.body, "
                "m.created_at FROM conversations c LEFT JOIN LATERAL ("
                "  SELECT seq, id, sender, author, body, created_at FROM messages"
                "  WHERE conversation_id = c.id AND sender = 'customer' AND seq > c.bot_cursor"
                "  ORDER BY seq LIMIT 1"
                ") m ON true WHERE c.id = $1",
                conversation_id,
            )
        if row is None:
            return None
        message = message_from_row(conversation_id, row) if row["seq"] is not None else None
        return _Position(State(row["state"]), row["bot_cursor"], message)

    async def _answer(
        self,
        cursor: int,
        message: Message,
        understanding: Understanding | None,
        sentiment: float,
    ) -> TurnResult | None:
        """Decides and stores the turn, if the conversation is still with the bot at `cursor`."""
        async with self.store.transaction() as connection:
            conversation = await fetch_conversation(
                connection, message.conversation_id, for_update=True
            )
            if (
                conversation is None
                or conversation.state is not State.BOT
                or conversation.bot_cursor != cursor
            ):
                return None
            turn = decide_turn(
                message.body,
                sentiment,
                understanding,
                remembered(conversation),
                self.handoff.policy(conversation.channel),
                self.model,
            )
            memory = turn.memory
            stored = await add_message(
                connection,
                conversation.id,
                reply_id(message.id),
                "bot",
                self.model.name,
                turn.reply,
            )
            reply = stored.message
            now = reply.created_at  # now() of this transaction
            # the cursor and the event in one statement: one round trip less per turn
            await connection.execute(
                "WITH answered AS (UPDATE conversations SET bot_cursor = $2, failed_turns = $3, "
                "last_intent = $4, last_sentiment = $5, clarification = $6, "
                "clarification_intent = $7, bot_answered_at = coalesce(bot_answered_at, now()) "
                "WHERE id = $1 RETURNING id) "
                "INSERT INTO events (conversation_id, type, actor, data) "
                "SELECT id, 'bot_answered', $8, $9 FROM answered",
                conversation.id,
                message.seq,
                memory.failed_turns,
                turn.intent,
                memory.sentiment,
                memory.stage,
                memory.asked,
                self.actor,
                {
                    "seq": message.seq,
                    "reply": reply.seq,
                    "intent": turn.intent,
                    "confidence": turn.confidence,
                    "sentiment": sentiment,
                    "action": turn.action.value,
                    "model_version": self.model.version,
                },
            )
            after = await self._leave_bot(connection, conversation, turn, now)
        after = after or dataclasses.replace(
            conversation,
            next_seq=reply.seq,
            bot_cursor=message.seq,
            failed_turns=memory.failed_turns,
            bot_answered_at=conversation.bot_answered_at or now,
            last_sentiment=memory.sentiment,
            clarification=memory.stage,
            clarification_intent=memory.asked,
        )
        first_wait = None
        if conversation.bot_answered_at is None:
            first_wait = (now - conversation.created_at).total_seconds()
        with_bot = None
        if turn.outcome is not None:
            with_bot = (now - (conversation.admitted_at or conversation.created_at)).total_seconds()
        timings = Timings((now - message.created_at).total_seconds(), first_wait, with_bot)
        return TurnResult(after, (reply,), turn, timings, sentiment)

    async def _leave_bot(
        self, connection: Connection, conversation: Conversation, turn: Turn, now: datetime
    ) -> Conversation | None:
        """Hands the conversation off or ends it, if the turn says so; returns it then."""
        assignments: dict[str, Any]
        data: dict[str, Any] = {"model_version": self.model.version, "intent": turn.intent}
        if turn.action is Action.HAND_OFF:
            assert turn.reason is not None
            step = Step.HAND_OFF
            assignments = {"queued_at": now, "handoff_reason": turn.reason.value}
            data["reason"] = turn.reason.value
        elif turn.action is Action.END:
            step = Step.RESOLVE
            assignments = {"ended_at": now}
            data["contained"] = True
        else:
            return None
        moved = await move(
            connection,
            conversation.id,
            step,
            actor=self.actor,
            assignments=assignments,
            data=data,
        )
        if moved is None:  # the row is locked and in state bot: every step from bot is allowed
            raise RuntimeError(f"conversation {conversation.id} could not be {step}")
        return moved

    async def _pass(self, work: CustomerTurn) -> None:
        """Moves the cursor past a message someone else answers (the bot stays silent)."""
        async with self.store.pool.acquire() as connection:
            await connection.execute(
                "UPDATE conversations SET bot_cursor = greatest(bot_cursor, $2) "
                "WHERE id = $1 AND state <> 'bot'",
                work.conversation,
                work.seq,
            )

    async def _replay(self, work: CustomerTurn) -> TurnResult:
        """A turn handled before: its stored reply, to announce again."""
        async with self.store.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT seq, id, sender, author, body, created_at FROM messages WHERE id = $1",
                reply_id(work.message),
            )
        if row is None:  # a message the bot passed in silence
            return TurnResult(None)
        return TurnResult(
            await self.store.conversation(work.conversation),
            (message_from_row(work.conversation, row),),
        )

    async def _history(self, message: Message) -> list[Line]:
        """The messages before `message`, as many as the model wants, oldest first."""
        wanted = self.understander.history_length
        if not wanted:
            return []
        async with self.store.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT sender, body FROM messages WHERE conversation_id = $1 AND seq < $2 "
                "ORDER BY seq DESC LIMIT $3",
                message.conversation_id,
                message.seq,
                wanted,
            )
        return [Line(row["sender"], row["body"]) for row in reversed(rows)]


def remembered(conversation: Conversation) -> Memory:
    """What the bot kept of `conversation` after its last turn."""
    stage = None if conversation.clarification is None else Stage(conversation.clarification)
    return Memory(
        conversation.failed_turns,
        conversation.last_sentiment,
        stage,
        conversation.clarification_intent,
    )
