"""What the bot does with a customer's message, once it is understood and scored (pure).

In this order (docs/models.md, "The handoff decision"), with the policy of the conversation's
channel (`spec.bot.handoff`): it hands the conversation to a human when the message's sentiment
is below the threshold, or negative and fallen sharply since the customer's previous message;
it takes a yes or no to its "Did you mean ...?"; it hands off when it could not understand the
message at all (a remote model that failed); when the top intent's confidence is below the
threshold or the top two are closer than the margin, it clarifies first if the policy says so
(asks whether the customer meant the top intent, then to rephrase) and hands off once that did
not help; it hands off when the customer asks for a human, or when a turn that did not help is
the `max_failed_turns`-th; it ends the conversation, contained, on a goodbye; otherwise it
answers.

What the decision needs to remember between turns (`Memory`) is stored with the conversation,
so a redelivered message or another replica decides the same.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from switchboard.contract import Outcome
from switchboard.dataplane.bot.classifier import Ranking
from switchboard.dataplane.bot.confirmation import read_confirmation
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.bot.sentiment import NEGATIVE
from switchboard.dataplane.wiring import HandoffPolicy


@dataclass(frozen=True)
class Understanding:
    """What the model made of a message: ranked intents and, from a remote model, maybe the
    text to answer with."""

    ranking: Ranking
    response: str | None = None


class Action(enum.StrEnum):
    ANSWER = "answer"
    CONFIRM = "confirm"
    """Ask whether the customer meant the top intent ("Did you mean ...?")."""
    REPHRASE = "rephrase"
    """Ask the customer to put it in other words."""
    HAND_OFF = "hand_off"
    END = "end"
    """Say goodbye; the conversation ends, contained."""


class Reason(enum.StrEnum):
    """Why the bot handed a conversation off."""

    NEGATIVE_SENTIMENT = "negative_sentiment"
    SENTIMENT_DROP = "sentiment_drop"
    LOW_CONFIDENCE = "low_confidence"
    AMBIGUOUS = "ambiguous"
    FAILED_TURNS = "failed_turns"
    EXPLICIT_REQUEST = "explicit_request"
    BOT_FAILURE = "bot_failure"


class Stage(enum.StrEnum):
    """Where a clarification stands: what the bot's last reply asked."""

    CONFIRM = "confirm"
    REPHRASE = "rephrase"


@dataclass(frozen=True)
class Memory:
    """What the bot keeps of a conversation from one customer message to the next."""

    failed_turns: int = 0
    sentiment: float | None = None
    """The score of the customer's last message (None: none scored yet)."""
    stage: Stage | None = None
    """The clarification under way, if any."""
    asked: str | None = None
    """The intent a CONFIRM asked about."""


@dataclass(frozen=True)
class Turn:
    action: Action
    reply: str
    memory: Memory
    """What to remember after this turn."""
    intent: str | None = None
    confidence: float | None = None
    """The model's confidence in `intent`; None when the customer confirmed it."""
    reason: Reason | None = None

    @property
    def outcome(self) -> Outcome | None:
        """How the conversation left the bot, if this turn ends its time with the bot."""
        if self.action is Action.END:
            return "contained"
        if self.action is Action.HAND_OFF:
            return "failed" if self.reason is Reason.BOT_FAILURE else "escalated"
        return None


def sentiment_reason(
    sentiment: float | None, previous: float | None, policy: HandoffPolicy
) -> Reason | None:
    """Why the customer's mood hands the conversation off, if it does: a score below the
    threshold, or a negative one fallen from the previous message's by more than the drop."""
    if sentiment is None:
        return None
    if sentiment < policy.sentiment_threshold:
        return Reason.NEGATIVE_SENTIMENT
    if (
        previous is not None
        and sentiment <= NEGATIVE
        and previous - sentiment > policy.sentiment_drop
    ):
        return Reason.SENTIMENT_DROP
    return None


def decide_turn(
    text: str,
    sentiment: float | None,
    understanding: Understanding | None,
    memory: Memory,
    policy: HandoffPolicy,
    model: DialogueModel,
) -> Turn:
    """The turn to take on the customer's message `text`, given its sentiment (None: not
    scored), what it was understood as (None: the model could not say) and what the bot
    remembers of the conversation."""
    scored = memory.sentiment if sentiment is None else sentiment
    settled = Memory(memory.failed_turns, scored)  # no clarification under way
    handoff = model.messages.handoff
    mood = sentiment_reason(sentiment, memory.sentiment, policy)
    if mood is not None:
        return Turn(Action.HAND_OFF, handoff, settled, reason=mood)
    if memory.stage is Stage.CONFIRM and memory.asked is not None:
        confirmed = read_confirmation(text)
        if confirmed:
            return _intended(memory.asked, None, None, settled, policy, model)
        if confirmed is False:
            rephrase = dataclasses.replace(settled, stage=Stage.REPHRASE)
            return Turn(Action.REPHRASE, model.messages.fallback, rephrase)
        # neither yes nor no: the message says what the customer means now
    if understanding is None or not understanding.ranking:
        return Turn(Action.HAND_OFF, handoff, settled, reason=Reason.BOT_FAILURE)
    ranking = understanding.ranking
    name, confidence = ranking[0]
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
    unsure = None
    if confidence < policy.confidence_threshold:
        unsure = Reason.LOW_CONFIDENCE
    elif confidence - runner_up < policy.ambiguity_margin:
        unsure = Reason.AMBIGUOUS
    if unsure is None:
        return _intended(name, confidence, understanding.response, settled, policy, model)
    if policy.clarify and memory.stage is None:
        confirm = dataclasses.replace(settled, stage=Stage.CONFIRM, asked=name)
        return Turn(Action.CONFIRM, model.confirmation(name), confirm, name, confidence)
    if policy.clarify and memory.stage is Stage.CONFIRM:
        rephrase = dataclasses.replace(settled, stage=Stage.REPHRASE)
        return Turn(Action.REPHRASE, model.messages.fallback, rephrase, name, confidence)
    return Turn(Action.HAND_OFF, handoff, settled, name, confidence, unsure)


def _intended(
    name: str,
    confidence: float | None,
    response: str | None,
    settled: Memory,
    policy: HandoffPolicy,
    model: DialogueModel,
) -> Turn:
    """What the intent the customer means says to do."""
    intent = model.intent(name)
    if intent.handoff:
        return Turn(
            Action.HAND_OFF,
            model.messages.handoff,
            settled,
            name,
            confidence,
            Reason.EXPLICIT_REQUEST,
        )
    reply = response or intent.response
    if intent.negative:
        failed = dataclasses.replace(settled, failed_turns=settled.failed_turns + 1)
        if failed.failed_turns >= policy.max_failed_turns:
            return Turn(
                Action.HAND_OFF,
                model.messages.handoff,
                failed,
                name,
                confidence,
                Reason.FAILED_TURNS,
            )
        return Turn(Action.ANSWER, reply or model.messages.fallback, failed, name, confidence)
    assert reply is not None  # the model's validation: only handoff and negative omit it
    action = Action.END if intent.ends else Action.ANSWER
    return Turn(action, reply, settled, name, confidence)
