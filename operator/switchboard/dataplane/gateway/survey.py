"""A customer's answer to the survey an agent's resolve asked (`spec.quality.survey`;
docs/dataplane.md, "The survey"): a message to a resolved conversation whose question is still
open (within `answerWithin` of the resolve), and that is a score on its scale, is stored in that
conversation and logged (`survey_answered`), and the next question (NPS after CSAT) is asked.
Anything else is refused as before: the conversation has ended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from switchboard.dataplane.conversation import Sender, reply_id
from switchboard.dataplane.quality import Survey, survey_score
from switchboard.dataplane.store import (
    SURVEY_OPEN,
    Connection,
    Conversation,
    Message,
    append_event,
)


@dataclass(frozen=True)
class Answer:
    survey: Survey
    score: int
    message: Message
    """The customer's answer, stored."""
    asked: list[Message]
    """The next question, if there is one."""


async def is_open(connection: Connection, conversation_id: uuid.UUID) -> bool:
    """Whether the conversation's survey waits for an answer: what the webchat's `ended`
    frame tells the page, so it opens its input for the answer."""
    is_open: bool | None = await connection.fetchval(
        f"SELECT {SURVEY_OPEN} FROM conversations WHERE id = $1", conversation_id
    )
    return bool(is_open)


async def answer(
    connection: Connection, conversation: Conversation, message_id: uuid.UUID, text: str
) -> Answer | None:
    """Records `text` as the answer to the conversation's open question, in the caller's
    transaction; None when the conversation is not resolved, has no open question (or its
    time to answer is over), or `text` is no score."""
    row = await connection.fetchrow(
        "SELECT survey, survey_followup FROM conversations "
        f"WHERE id = $1 AND state = 'resolved' AND {SURVEY_OPEN} FOR UPDATE",
        conversation.id,
    )
    if row is None:
        return None
    survey: Survey = row["survey"]
    score = survey_score(survey, text)
    if score is None:
        return None
    stored = await _append(connection, conversation.id, message_id, "customer", text)
    await append_event(
        connection,
        conversation.id,
        "survey_answered",
        conversation.customer,
        {"survey": survey, "score": score, "seq": stored.seq},
    )
    followup = row["survey_followup"] if survey == "csat" else None
    asked = (
        [await _append(connection, conversation.id, reply_id(message_id), "system", followup)]
        if followup is not None
        else []
    )
    await connection.execute(
        "UPDATE conversations SET survey = $2, survey_followup = NULL WHERE id = $1",
        conversation.id,
        "nps" if asked else None,
    )
    return Answer(survey, score, stored, asked)


async def _append(
    connection: Connection,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    sender: Sender,
    body: str,
) -> Message:
    """A message after a conversation's end (the store's `add_message` takes open ones only)."""
    row = await connection.fetchrow(
        "WITH next AS (UPDATE conversations SET next_seq = next_seq + 1 WHERE id = $1 "
        "RETURNING next_seq) "
        "INSERT INTO messages (conversation_id, seq, id, sender, body) "
        "SELECT $1, next_seq, $2, $3, $4 FROM next RETURNING seq, created_at",
        conversation_id,
        message_id,
        sender,
        body,
    )
    assert row is not None  # the conversation's row is locked by the caller's transaction
    return Message(conversation_id, row["seq"], message_id, sender, None, body, row["created_at"])
