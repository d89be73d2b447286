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

from switchboard.dataplane.bot.decision import Action, Turn, Understanding, decide_turn
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.bot.understanding import Line, Understander
from switchboard.dataplane.conversation import State, Step, reply_id
from switchboard.dataplane.envelope import CustomerTurn
from switchboard.dataplane.store import (
    Connection,
    Conversation,
    Message,
    Store,
    add_message,
    append_event,
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
class TurnResult:
    conversation: Conversation | None
    """As it is after the turn (None: no such conversation)."""
    replies: tuple[Message, ...] = ()
    """The bot's stored replies to the message: to announce (again, for a redelivery)."""
    turn: Turn | None = None
    """What the bot decided, if it answered the message now."""
    timings: Timings | None = None


class Turns:
    """Takes the customer turns of the conversations one model serves."""

    def __init__(
        self,
        store: Store,
        model: DialogueModel,
        understander: Understander,
        settings: HandoffWiring,
        actor: str,
    ) -> None:
        self.store = store
        self.model = model
        self.understander = understander
        self.settings = settings
        self.actor = actor

    async def take(self, work: CustomerTurn) -> TurnResult:
        deadline = time.monotonic() + ORDER_PATIENCE_SECONDS
        while True:
            conversation = await self.store.conversation(work.conversation)
            if conversation is None:
                logger.warning("a turn of conversation %s, which is not stored", work.conversation)
                return TurnResult(None)
            if work.seq <= conversation.bot_cursor:
                return TurnResult(conversation, await self._replies(work.message))
            if conversation.state is not State.BOT:
                return TurnResult(await self._pass(conversation, work.seq))
            message = await self._next_customer_message(conversation)
            if message is None or message.seq > work.seq:
                logger.warning(
                    "a turn of conversation %s names seq %s, which is no customer message",
                    work.conversation,
                    work.seq,
                )
                return TurnResult(conversation)
            if message.seq < work.seq:
                if time.monotonic() > deadline:
                    raise OutOfOrder(f"seq {message.seq} of {work.conversation} is unanswered")
                await asyncio.sleep(ORDER_POLL_SECONDS)
                continue
            understanding = await self.understander.understand(
                message.body, conversation.id, await self._history(message)
            )
            result = await self._answer(conversation, message, understanding)
            if result is not None:
                return result
            # the conversation moved while the message was being understood: look again

    async def _answer(
        self,
        seen: Conversation,
        message: Message,
        understanding: Understanding | None,
    ) -> TurnResult | None:
        async with self.store.transaction() as connection:
            conversation = await fetch_conversation(connection, seen.id, for_update=True)
            if (
                conversation is None
                or conversation.state is not State.BOT
                or conversation.bot_cursor != seen.bot_cursor
            ):
                return None
            turn = decide_turn(understanding, conversation.failed_turns, self.settings, self.model)
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
            await connection.execute(
                "UPDATE conversations SET bot_cursor = $2, failed_turns = $3, last_intent = $4, "
                "bot_answered_at = coalesce(bot_answered_at, now()) WHERE id = $1",
                conversation.id,
                message.seq,
                turn.failed_turns,
                turn.intent,
            )
            await append_event(
                connection,
                conversation.id,
                "bot_answered",
                self.actor,
                {
                    "seq": message.seq,
                    "reply": reply.seq,
                    "intent": turn.intent,
                    "confidence": turn.confidence,
                    "action": turn.action.value,
                    "model_version": self.model.version,
                },
            )
            after = await self._leave_bot(connection, conversation, turn, now)
        after = after or dataclasses.replace(
            conversation,
            next_seq=reply.seq,
            bot_cursor=message.seq,
            failed_turns=turn.failed_turns,
            bot_answered_at=conversation.bot_answered_at or now,
        )
        first_wait = None
        if conversation.bot_answered_at is None:
            first_wait = (now - conversation.created_at).total_seconds()
        with_bot = None
        if turn.outcome is not None:
            with_bot = (now - (conversation.admitted_at or conversation.created_at)).total_seconds()
        timings = Timings((now - message.created_at).total_seconds(), first_wait, with_bot)
        return TurnResult(after, (reply,), turn, timings)

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

    async def _pass(self, conversation: Conversation, seq: int) -> Conversation:
        """Moves the cursor past a message someone else answers (the bot stays silent)."""
        async with self.store.pool.acquire() as connection:
            await connection.execute(
                "UPDATE conversations SET bot_cursor = greatest(bot_cursor, $2) "
                "WHERE id = $1 AND state <> 'bot'",
                conversation.id,
                seq,
            )
        return dataclasses.replace(conversation, bot_cursor=max(conversation.bot_cursor, seq))

    async def _next_customer_message(self, conversation: Conversation) -> Message | None:
        async with self.store.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT seq, id, sender, author, body, created_at FROM messages "
                "WHERE conversation_id = $1 AND sender = 'customer' AND seq > $2 "
                "ORDER BY seq LIMIT 1",
                conversation.id,
                conversation.bot_cursor,
            )
        return message_from_row(conversation.id, row) if row is not None else None

    async def _replies(self, message_id: uuid.UUID) -> tuple[Message, ...]:
        async with self.store.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT conversation_id, seq, id, sender, author, body, created_at FROM messages "
                "WHERE id = $1",
                reply_id(message_id),
            )
        return (message_from_row(row["conversation_id"], row),) if row is not None else ()

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
