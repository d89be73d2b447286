"""What the bot does with a customer's message, once it is understood (pure).

It hands the conversation to a human (`spec.bot.handoff`) when it could not understand the
message at all (a remote model that failed), when the top intent's confidence is below the
threshold, when the top two intents are closer than the margin, when the customer asks for a
human, or when a turn that did not help is the `max_failed_turns`-th; it ends the conversation,
contained, on a goodbye; otherwise it answers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from switchboard.contract import Outcome
from switchboard.dataplane.bot.classifier import Ranking
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.wiring import HandoffWiring


@dataclass(frozen=True)
class Understanding:
    """What the model made of a message: ranked intents and, from a remote model, maybe the
    text to answer with."""

    ranking: Ranking
    response: str | None = None


class Action(enum.StrEnum):
    ANSWER = "answer"
    HAND_OFF = "hand_off"
    END = "end"
    """Say goodbye; the conversation ends, contained."""


class Reason(enum.StrEnum):
    """Why the bot handed a conversation off."""

    LOW_CONFIDENCE = "low_confidence"
    AMBIGUOUS = "ambiguous"
    FAILED_TURNS = "failed_turns"
    EXPLICIT_REQUEST = "explicit_request"
    BOT_FAILURE = "bot_failure"


@dataclass(frozen=True)
class Turn:
    action: Action
    reply: str
    failed_turns: int
    """The conversation's failed turns, this one included."""
    intent: str | None = None
    confidence: float | None = None
    reason: Reason | None = None

    @property
    def outcome(self) -> Outcome | None:
        """How the conversation left the bot, if this turn ends its time with the bot."""
        if self.action is Action.END:
            return "contained"
        if self.action is Action.HAND_OFF:
            return "failed" if self.reason is Reason.BOT_FAILURE else "escalated"
        return None


def decide_turn(
    understanding: Understanding | None,
    failed_turns: int,
    settings: HandoffWiring,
    model: DialogueModel,
) -> Turn:
    """The turn to take, given what the message was understood as (None: the model could
    not say) and the failed turns before it."""
    handoff = model.messages.handoff
    if understanding is None or not understanding.ranking:
        return Turn(Action.HAND_OFF, handoff, failed_turns, reason=Reason.BOT_FAILURE)
    ranking = understanding.ranking
    name, confidence = ranking[0]
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0

    def hand_off(reason: Reason, failed: int = failed_turns) -> Turn:
        return Turn(Action.HAND_OFF, handoff, failed, name, confidence, reason)

    if confidence < settings.confidence_threshold:
        return hand_off(Reason.LOW_CONFIDENCE)
    if confidence - runner_up < settings.ambiguity_margin:
        return hand_off(Reason.AMBIGUOUS)
    intent = model.intent(name)
    if intent.handoff:
        return hand_off(Reason.EXPLICIT_REQUEST)
    reply = understanding.response or intent.response
    if intent.negative:
        failed = failed_turns + 1
        if failed >= settings.max_failed_turns:
            return hand_off(Reason.FAILED_TURNS, failed)
        return Turn(Action.ANSWER, reply or model.messages.fallback, failed, name, confidence)
    assert reply is not None  # the model's validation: only handoff and negative omit it
    action = Action.END if intent.ends else Action.ANSWER
    return Turn(action, reply, failed_turns, name, confidence)
