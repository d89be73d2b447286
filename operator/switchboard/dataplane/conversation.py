"""A conversation's life, as pure rules: its states, what moves it between them, where a
customer's message goes, and what a departure counts as (docs/dataplane.md, "A conversation's
states").

The store applies these with a compare-and-set on the state, so a late or repeated message can
never move a conversation backwards.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Literal

Sender = Literal["customer", "bot", "agent", "system"]


class State(enum.StrEnum):
    BOT = "bot"
    """With the bot (waiting for a bot slot while not admitted)."""
    QUEUED = "queued"
    """Handed off, waiting for an agent."""
    OFFERED = "offered"
    """Offered to one agent, who has not accepted yet."""
    AGENT = "agent"
    """With an agent."""
    RESOLVED = "resolved"
    ABANDONED = "abandoned"


OPEN_STATES = frozenset({State.BOT, State.QUEUED, State.OFFERED, State.AGENT})
WAITING_FOR_AGENT = frozenset({State.QUEUED, State.OFFERED})


class Step(enum.StrEnum):
    """What happens to a conversation; each is also the name of its event in the log."""

    HAND_OFF = "handed_off"
    OFFER = "offered"
    OFFER_EXPIRED = "offer_expired"
    ACCEPT = "accepted"
    RESOLVE = "resolved"
    ABANDON = "abandoned"


_TRANSITIONS: dict[Step, tuple[frozenset[State], State]] = {
    Step.HAND_OFF: (frozenset({State.BOT}), State.QUEUED),
    Step.OFFER: (frozenset({State.QUEUED}), State.OFFERED),
    Step.OFFER_EXPIRED: (frozenset({State.OFFERED}), State.QUEUED),
    Step.ACCEPT: (frozenset({State.OFFERED}), State.AGENT),
    Step.RESOLVE: (frozenset({State.BOT, State.AGENT}), State.RESOLVED),
    Step.ABANDON: (OPEN_STATES - {State.AGENT}, State.ABANDONED),
}


class InvalidTransition(ValueError):
    """A step that the conversation's state does not allow (a late or repeated message)."""


def sources(step: Step) -> frozenset[State]:
    """The states `step` may start from (the store's compare-and-set condition)."""
    return _TRANSITIONS[step][0]


def target(step: Step) -> State:
    """The state `step` leads to."""
    return _TRANSITIONS[step][1]


def after(state: State, step: Step) -> State:
    """The state `step` leads to from `state`."""
    allowed, target = _TRANSITIONS[step]
    if state not in allowed:
        raise InvalidTransition(f"a conversation in state {state} cannot be {step}")
    return target


class Route(enum.StrEnum):
    """Who handles a customer's message."""

    BOT_NEW = "bot-new"
    """The bot, once the conversation gets a bot slot."""
    BOT = "bot"
    AGENT = "agent"
    """The agent who owns it, or whoever accepts it (it is stored for them either way)."""
    CLOSED = "closed"
    """Nobody: the conversation has ended."""


def route(state: State, admitted: bool) -> Route:
    """Where a customer's message goes, from the conversation's state when it is stored."""
    if state is State.BOT:
        return Route.BOT if admitted else Route.BOT_NEW
    if state in OPEN_STATES:
        return Route.AGENT
    return Route.CLOSED


@dataclass(frozen=True)
class Departure:
    """What a customer's leaving an open conversation counts as."""

    step: Step
    """ABANDON (they left waiting for an answer) or RESOLVE (they left after one)."""
    waiting_for: str | None
    """The tier whose answer they did not wait for (`bot` or `agent`), for an abandonment."""
    contained: bool
    """Whether it ends a conversation the bot handled alone."""


def departure(state: State, bot_answered: bool) -> Departure:
    """A customer leaves: before the bot's first answer or while waiting for an agent, they
    abandoned that tier's queue; after the bot answered, the bot contained the conversation;
    with an agent, it is resolved."""
    if state is State.BOT:
        if bot_answered:
            return Departure(Step.RESOLVE, None, contained=True)
        return Departure(Step.ABANDON, "bot", contained=False)
    if state in WAITING_FOR_AGENT:
        return Departure(Step.ABANDON, "agent", contained=False)
    if state is State.AGENT:
        return Departure(Step.RESOLVE, None, contained=False)
    raise InvalidTransition(f"a conversation in state {state} has already ended")


_REPLIES = uuid.UUID("6f1c2a8e-4b5d-4e0f-9a3c-7d2b1e5f8a90")


def reply_id(message_id: uuid.UUID, index: int = 0) -> uuid.UUID:
    """The id of the `index`-th message answering `message_id`: the same on every retry, so a
    redelivered message cannot store its answer twice."""
    return uuid.uuid5(_REPLIES, f"{message_id}/{index}")
