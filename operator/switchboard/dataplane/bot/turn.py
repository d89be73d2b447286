"""A customer turn, from the stored message to the stored reply (docs/dataplane.md, "The bot's
turn").

The customer messages of a conversation are answered in `seq` order, each exactly once in
effect: `bot_cursor` is the last customer `seq` the bot handled. A message at or below it is a
redelivery (its stored reply is announced again); a message with an earlier customer message
still unanswered waits for it, briefly, then goes back to the queue; a conversation no longer
with the bot only moves the cursor (an agent has it: the bot stays silent). Otherwise the bot
understands the message outside any transaction (a remote model may take a while), decides, and
stores the reply, moves the cursor and, on a handoff or a goodbye, moves the conversation, in
one statement (`switchboard_bot_turn`) whose compare-and-set on the state and the cursor makes
a turn decided on a conversation that moved meanwhile store nothing (it is taken again).

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
from switchboard.dataplane.conversation import State, Step, reply_id, target
from switchboard.dataplane.envelope import CustomerTurn
from switchboard.dataplane.store import (
    Conversation,
    Message,
    Store,
    conversation_columns,
    conversation_from_row,
    message_from_row,
)
from switchboard.dataplane.wiring import HandoffWiring

logger = logging.getLogger(__name__)

ORDER_PATIENCE_SECONDS = 5.0
ORDER_POLL_SECONDS = 0.05
MAX_ORDER_POLL_SECONDS = 0.4


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
    conversation: Conversation
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
        self._taking: dict[uuid.UUID, dict[int, asyncio.Event]] = {}
        """The turns being taken here, by conversation and seq."""

    async def take(self, work: CustomerTurn) -> TurnResult:
        """The turn of `work`, once the turns of its conversation up to its seq being taken
        here are done (a redelivery waits for the original): a customer who writes again
        before the answer (or a backlog) does not make the later turn poll the store."""
        while True:
            taking = self._taking.setdefault(work.conversation, {})
            before = [done for seq, done in taking.items() if seq <= work.seq]
            if not before:
                break
            await before[0].wait()
        done = taking[work.seq] = asyncio.Event()
        try:
            return await self._take(work)
        finally:
            del taking[work.seq]
            if not taking:
                del self._taking[work.conversation]
            done.set()

    async def _take(self, work: CustomerTurn) -> TurnResult:
        deadline = time.monotonic() + ORDER_PATIENCE_SECONDS
        poll = ORDER_POLL_SECONDS
        while True:
            position = await self._position(work.conversation)
            if position is None:
                logger.warning("a turn of conversation %s, which is not stored", work.conversation)
                return TurnResult(None)
            conversation = position.conversation
            if work.seq <= conversation.bot_cursor:
                return await self._replay(work)
            if conversation.state is not State.BOT:
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
                await asyncio.sleep(poll)  # the earlier turn is another replica's
                poll = min(poll * 2, MAX_ORDER_POLL_SECONDS)
                continue
            understanding = await self.understander.understand(
                message.body, work.conversation, await self._history(message)
            )
            sentiment = self.scorer.score(message.body)
            result = await self._answer(conversation, message, understanding, sentiment)
            if result is not None:
                return result
            # the conversation moved while the message was being understood: look again

    async def _position(self, conversation_id: uuid.UUID) -> _Position | None:
        """The conversation and its first customer message after the cursor, in one round
        trip."""
        async with self.store.pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT {conversation_columns('c')}, m.seq AS m_seq, m.id AS m_id, "
                "m.author AS m_author, m.body AS m_body, m.created_at AS m_created_at "
                "FROM conversations c LEFT JOIN LATERAL ("
                "  SELECT seq, id, author, body, created_at FROM messages"
                "  WHERE conversation_id = c.id AND sender = 'customer' AND seq > c.bot_cursor"
                "  ORDER BY seq LIMIT 1"
                ") m ON true WHERE c.id = $1",
                conversation_id,
            )
        if row is None:
            return None
        values = dict(row)
        conversation = conversation_from_row(
            {key: value for key, value in values.items() if not key.startswith("m_")}
        )
        message = None
        if values["m_seq"] is not None:
            message = Message(
                conversation_id,
                values["m_seq"],
                values["m_id"],
                "customer",
                values["m_author"],
                values["m_body"],
                values["m_created_at"],
            )
        return _Position(conversation, message)

    async def _answer(
        self,
        conversation: Conversation,
        message: Message,
        understanding: Understanding | None,
        sentiment: float,
    ) -> TurnResult | None:
        """Decides the turn and stores it (switchboard_bot_turn, one round trip) if the
        conversation is still with the bot at the cursor it was read at: only the bot's own
        turns move the cursor and what the decision counts on."""
        turn = decide_turn(
            message.body,
            sentiment,
            understanding,
            remembered(conversation),
            self.handoff.policy(conversation.channel),
            self.model,
        )
        memory = turn.memory
        step, step_data = self._leaving(turn)
        reply_key = reply_id(message.id)
        async with self.store.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT reply_seq, reply_at FROM switchboard_bot_turn("
                "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                conversation.id,
                conversation.bot_cursor,
                message.seq,
                reply_key,
                self.model.name,
                turn.reply,
                memory.failed_turns,
                turn.intent,
                memory.sentiment,
                memory.stage,
                memory.asked,
                self.actor,
                {
                    "seq": message.seq,
                    "intent": turn.intent,
                    "confidence": turn.confidence,
                    "sentiment": sentiment,
                    "action": turn.action.value,
                    "model_version": self.model.version,
                },
                None if step is None else step.value,
                None if step is None else target(step).value,
                None if turn.reason is None else turn.reason.value,
                step_data,
            )
        if row is None:
            return None
        now = row["reply_at"]  # now() of the turn's transaction: the reply's created_at
        reply = Message(
            conversation.id, row["reply_seq"], reply_key, "bot", self.model.name, turn.reply, now
        )
        after = dataclasses.replace(
            conversation,
            state=conversation.state if step is None else target(step),
            next_seq=reply.seq,
            bot_cursor=message.seq,
            failed_turns=memory.failed_turns,
            bot_answered_at=conversation.bot_answered_at or now,
            last_sentiment=memory.sentiment,
            clarification=memory.stage,
            clarification_intent=memory.asked,
            queued_at=now if step is Step.HAND_OFF else conversation.queued_at,
        )
        first_wait = None
        if conversation.bot_answered_at is None:
            first_wait = (now - conversation.created_at).total_seconds()
        with_bot = None
        if turn.outcome is not None:
            with_bot = (now - (conversation.admitted_at or conversation.created_at)).total_seconds()
        timings = Timings((now - message.created_at).total_seconds(), first_wait, with_bot)
        return TurnResult(after, (reply,), turn, timings, sentiment)

    def _leaving(self, turn: Turn) -> tuple[Step | None, dict[str, Any] | None]:
        """The step a turn takes the conversation out of the bot's hands with, if it does,
        and its event's data."""
        data: dict[str, Any] = {"model_version": self.model.version, "intent": turn.intent}
        if turn.action is Action.HAND_OFF:
            assert turn.reason is not None
            return Step.HAND_OFF, {**data, "reason": turn.reason.value}
        if turn.action is Action.END:
            return Step.RESOLVE, {**data, "contained": True}
        return None, None

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
