"""What an agent may do with a conversation, from the conversation's row: pure decisions, each
either allowing the action or refusing it with the status and code the agent is answered with.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Protocol

from switchboard.dataplane.conversation import State


class Refusal(Exception):
    """An action the conversation's or the agent's state does not allow; nothing was stored."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Ownership(Protocol):
    """What the rules read of a conversation's row."""

    @property
    def state(self) -> State: ...

    @property
    def agent_id(self) -> str | None: ...

    @property
    def accepted_at(self) -> datetime | None: ...


def not_signed_in(agent: str) -> Refusal:
    return Refusal(404, "not_signed_in", f"agent {agent} is not signed in")


def not_found(conversation: uuid.UUID) -> Refusal:
    return Refusal(404, "not_found", f"no conversation {conversation}")


def id_taken(message_id: uuid.UUID) -> Refusal:
    return Refusal(409, "id_taken", f"message id {message_id} is another message's")


class Acceptance(enum.Enum):
    ACCEPT = "accept"
    ALREADY = "already"
    """The agent accepted it before (a retried accept): answered as the first time."""


def may_accept(
    conversation_id: uuid.UUID, row: Ownership | None, agent: str, in_time: bool
) -> Acceptance:
    """An agent accepts only what is offered to them, before the offer expires."""
    if row is None:
        raise not_found(conversation_id)
    mine = row.agent_id == agent
    if mine and row.state is State.AGENT:
        return Acceptance.ALREADY
    if mine and row.state is State.OFFERED:
        if in_time:
            return Acceptance.ACCEPT
        raise Refusal(409, "offer_expired", f"the offer of {conversation_id} expired")
    if row.state in (State.RESOLVED, State.ABANDONED):
        raise Refusal(409, "ended", f"conversation {conversation_id} has ended")
    raise Refusal(409, "not_offered", f"conversation {conversation_id} is not offered to you")


def may_read(conversation_id: uuid.UUID, row: Ownership | None, agent: str) -> None:
    """An agent reads the transcripts of the conversations they accepted, also once ended."""
    if row is None:
        raise not_found(conversation_id)
    if row.agent_id != agent or row.accepted_at is None:
        raise Refusal(403, "not_yours", f"conversation {conversation_id} is not yours")


def may_write(conversation_id: uuid.UUID, row: Ownership | None, agent: str) -> None:
    """An agent writes to (and resolves) a conversation they hold that has not ended."""
    may_read(conversation_id, row, agent)
    assert row is not None
    if row.state is not State.AGENT:
        raise Refusal(409, "ended", f"conversation {conversation_id} has ended")


def may_resolve(conversation_id: uuid.UUID, row: Ownership | None, agent: str) -> bool:
    """Whether to resolve it now; False for one this agent resolved already (a retry)."""
    may_read(conversation_id, row, agent)
    assert row is not None
    if row.state is State.RESOLVED:
        return False
    may_write(conversation_id, row, agent)
    return True
