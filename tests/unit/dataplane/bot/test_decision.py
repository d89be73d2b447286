"""The handoff decision: every reason to hand off, the clarification, their edges and order,
what the bot says and what it remembers."""

from __future__ import annotations

import dataclasses

import pytest

from switchboard.api.bot import Handoff
from switchboard.dataplane.bot.decision import (
    Action,
    Memory,
    Reason,
    Stage,
    Turn,
    Understanding,
    decide_turn,
)
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.wiring import HandoffPolicy, handoff_policy

# Binary fractions, so the edges below are exact.
SETTINGS = handoff_policy(
    Handoff(confidence_threshold=0.625, ambiguity_margin=0.125, max_failed_turns=2)
)
MOODY = dataclasses.replace(SETTINGS, sentiment_threshold=-0.875, sentiment_drop=0.75)
CLARIFYING = dataclasses.replace(SETTINGS, clarify=True)
MODEL = DialogueModel.model_validate(
    {
        "format": "switchboard.io/dialogue-model/v1",
        "name": "bank",
        "version": "1.0.0",
        "kind": "remote",
        "remote": {"url": "https://nlu.example/parse"},
        "language": "en",
        "messages": {"fallback": "Could you say it in other words?", "handoff": "Passing you on."},
        "intents": [
            {"name": "balance", "response": "Your balance is in the app."},
            {"name": "card", "response": "Cards are in the app.", "label": "your card"},
            {"name": "human", "handoff": True},
            {"name": "bye", "ends": True, "response": "Goodbye!"},
            {"name": "unhelpful", "negative": True},
            {"name": "wrong", "negative": True, "response": "Sorry! What did you mean?"},
        ],
    }
)
UNSURE = (("card", 0.5), ("balance", 0.25))
SURE = (("balance", 0.875), ("card", 0.0625))


def decide(
    *ranking: tuple[str, float],
    failed: int = 0,
    response: str | None = None,
    text: str = "something",
    sentiment: float | None = None,
    memory: Memory | None = None,
    policy: HandoffPolicy = SETTINGS,
) -> Turn:
    memory = memory or Memory(failed_turns=failed)
    return decide_turn(text, sentiment, Understanding(ranking, response), memory, policy, MODEL)


def test_a_confident_clear_answer() -> None:
    turn = decide(("balance", 0.8), ("card", 0.1))
    assert turn.action is Action.ANSWER
    assert turn.reply == "Your balance is in the app."
    assert (turn.intent, turn.confidence, turn.reason, turn.outcome) == ("balance", 0.8, None, None)
    assert turn.memory == Memory()


@pytest.mark.parametrize(
    ("top", "runner_up", "reason"),
    [
        (0.625, 0.0, None),  # at the threshold: answered
        (0.6249, 0.0, Reason.LOW_CONFIDENCE),
        (0.75, 0.625, None),  # exactly the margin apart: answered
        (0.75, 0.6251, Reason.AMBIGUOUS),
        (0.45, 0.44, Reason.LOW_CONFIDENCE),  # both: the threshold is checked first
    ],
)
def test_threshold_and_margin_edges(top: float, runner_up: float, reason: Reason | None) -> None:
    turn = decide(("balance", top), ("card", runner_up))
    assert turn.reason is reason
    if reason is None:
        assert turn.action is Action.ANSWER
    else:
        assert (turn.action, turn.reply, turn.outcome) == (
            Action.HAND_OFF,
            "Passing you on.",
            "escalated",
        )
        assert (turn.intent, turn.confidence) == ("balance", top)


def test_a_single_intent_ranking_has_no_runner_up() -> None:
    assert decide(("balance", 0.65)).action is Action.ANSWER  # 0.65 - 0 > margin


def test_asking_for_a_human_hands_off() -> None:
    turn = decide(("human", 0.9), ("card", 0.05))
    assert (turn.action, turn.reason, turn.reply) == (
        Action.HAND_OFF,
        Reason.EXPLICIT_REQUEST,
        "Passing you on.",
    )
    assert turn.outcome == "escalated"


def test_a_weak_request_for_a_human_still_hands_off_as_low_confidence() -> None:
    assert decide(("human", 0.5), ("card", 0.2)).reason is Reason.LOW_CONFIDENCE


def test_a_failed_turn_asks_again_until_the_limit() -> None:
    first = decide(("unhelpful", 0.9), failed=0)
    assert (first.action, first.memory.failed_turns) == (Action.ANSWER, 1)
    assert first.reply == "Could you say it in other words?"  # the model's fallback
    second = decide(("unhelpful", 0.9), memory=first.memory)
    assert (second.action, second.reason, second.memory.failed_turns) == (
        Action.HAND_OFF,
        Reason.FAILED_TURNS,
        2,
    )
    assert second.outcome == "escalated"


def test_a_negative_intent_may_answer_with_its_own_words() -> None:
    assert decide(("wrong", 0.9)).reply == "Sorry! What did you mean?"


def test_answers_do_not_count_as_failed_turns() -> None:
    assert decide(("balance", 0.9), failed=1).memory.failed_turns == 1


def test_a_goodbye_ends_the_conversation_contained() -> None:
    turn = decide(("bye", 0.95))
    assert (turn.action, turn.reply, turn.outcome) == (Action.END, "Goodbye!", "contained")


def test_a_remote_models_response_is_said_instead_of_the_intents() -> None:
    turn = decide(("card", 0.9), response="Your new card ships Monday.")
    assert turn.reply == "Your new card ships Monday."


@pytest.mark.parametrize("understanding", [None, Understanding(())])
def test_a_model_that_could_not_say_fails_the_turn(understanding: Understanding | None) -> None:
    turn = decide_turn("hi", None, understanding, Memory(failed_turns=1), SETTINGS, MODEL)
    assert (turn.action, turn.reason, turn.outcome) == (
        Action.HAND_OFF,
        Reason.BOT_FAILURE,
        "failed",
    )
    assert turn.reply == "Passing you on."
    assert turn.memory.failed_turns == 1


# --- sentiment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentiment", "reason"),
    [
        (-0.875, None),  # at the threshold: not below it
        (-0.876, Reason.NEGATIVE_SENTIMENT),
        (-1.0, Reason.NEGATIVE_SENTIMENT),
    ],
)
def test_a_message_below_the_sentiment_threshold_hands_off(
    sentiment: float, reason: Reason | None
) -> None:
    turn = decide(*SURE, sentiment=sentiment, policy=MOODY)
    assert turn.reason is reason
    assert turn.memory.sentiment == sentiment
    if reason is not None:
        assert (turn.action, turn.reply, turn.outcome) == (
            Action.HAND_OFF,
            "Passing you on.",
            "escalated",
        )


@pytest.mark.parametrize(
    ("previous", "sentiment", "reason"),
    [
        (0.25, -0.5, None),  # fell by exactly the drop: not more
        (0.25, -0.5625, Reason.SENTIMENT_DROP),
        (0.875, -0.03125, None),  # fell by more, but into neutral, not negative
        (0.75, -0.05, Reason.SENTIMENT_DROP),  # -0.05 is negative (the authors' cutoff)
        (None, -0.75, None),  # a first message has nothing to fall from
        (-0.5, -0.75, None),  # negative, but no sharp fall
    ],
)
def test_a_sharp_fall_into_negative_hands_off(
    previous: float | None, sentiment: float, reason: Reason | None
) -> None:
    turn = decide(*SURE, sentiment=sentiment, memory=Memory(sentiment=previous), policy=MOODY)
    assert turn.reason is reason
    assert turn.action is (Action.ANSWER if reason is None else Action.HAND_OFF)


@pytest.mark.parametrize(
    "ranking",
    [SURE, (("bye", 0.95),), (("human", 0.9),), UNSURE, ()],
    ids=["an answer", "a goodbye", "a request for a human", "low confidence", "no ranking"],
)
def test_an_angry_customer_is_handed_off_whatever_they_asked(
    ranking: tuple[tuple[str, float], ...],
) -> None:
    turn = decide(*ranking, sentiment=-0.9, policy=dataclasses.replace(MOODY, clarify=True))
    assert (turn.action, turn.reason) == (Action.HAND_OFF, Reason.NEGATIVE_SENTIMENT)


def test_by_default_sentiment_never_hands_off() -> None:
    # Scores are in [-1, 1]: nothing is below -1, and nothing falls by more than 2.
    default = handoff_policy(Handoff())
    for previous, sentiment in ((None, -1.0), (1.0, -1.0)):
        turn = decide(*SURE, sentiment=sentiment, memory=Memory(sentiment=previous), policy=default)
        assert turn.action is Action.ANSWER


def test_the_bot_remembers_the_last_score_and_keeps_it_when_a_message_is_not_scored() -> None:
    assert decide(*SURE, sentiment=0.5, memory=Memory(sentiment=-0.25)).memory.sentiment == 0.5
    assert decide(*SURE, memory=Memory(sentiment=-0.25)).memory.sentiment == -0.25


# --- clarification --------------------------------------------------------------------------


def test_low_confidence_asks_did_you_mean_the_top_intent() -> None:
    turn = decide(*UNSURE, policy=CLARIFYING)
    assert (turn.action, turn.reply, turn.outcome) == (
        Action.CONFIRM,
        "Did you mean: your card?",
        None,
    )
    assert (turn.intent, turn.confidence) == ("card", 0.5)
    assert turn.memory == Memory(stage=Stage.CONFIRM, asked="card")


def test_ambiguity_asks_too() -> None:
    turn = decide(("balance", 0.75), ("card", 0.7), policy=CLARIFYING)
    assert (turn.action, turn.reply) == (Action.CONFIRM, "Did you mean: balance?")


def test_yes_answers_the_intent_asked_about() -> None:
    asked = decide(*UNSURE, policy=CLARIFYING).memory
    # Whatever the model makes of "yes", the customer confirmed the intent asked about.
    turn = decide(("unhelpful", 0.3), text="Yes please", memory=asked, policy=CLARIFYING)
    assert (turn.action, turn.reply, turn.intent, turn.confidence) == (
        Action.ANSWER,
        "Cards are in the app.",
        "card",
        None,
    )
    assert turn.memory == Memory()


def test_yes_to_a_goodbye_or_to_a_human_does_what_they_do() -> None:
    bye = decide(("bye", 0.5), ("card", 0.25), policy=CLARIFYING).memory
    assert decide(text="yes", memory=bye, policy=CLARIFYING).outcome == "contained"
    human = decide(("human", 0.5), ("card", 0.25), policy=CLARIFYING).memory
    handed = decide(text="yes", memory=human, policy=CLARIFYING)
    assert (handed.action, handed.reason) == (Action.HAND_OFF, Reason.EXPLICIT_REQUEST)


def test_no_asks_to_rephrase_then_a_second_miss_hands_off() -> None:
    asked = decide(*UNSURE, policy=CLARIFYING)
    no = decide(("unhelpful", 0.9), text="no", memory=asked.memory, policy=CLARIFYING)
    assert (no.action, no.reply, no.intent) == (
        Action.REPHRASE,
        "Could you say it in other words?",
        None,
    )
    assert no.memory == Memory(stage=Stage.REPHRASE)  # "no" here is not a failed turn
    missed = decide(*UNSURE, memory=no.memory, policy=CLARIFYING)
    assert (missed.action, missed.reason, missed.outcome) == (
        Action.HAND_OFF,
        Reason.LOW_CONFIDENCE,
        "escalated",
    )
    assert missed.memory == Memory()


def test_a_rephrasing_understood_is_answered_and_ends_the_clarification() -> None:
    rephrase = Memory(stage=Stage.REPHRASE)
    turn = decide(*SURE, memory=rephrase, policy=CLARIFYING)
    assert (turn.action, turn.intent, turn.memory) == (Action.ANSWER, "balance", Memory())
    # and the next unsure message starts a clarification of its own
    again = decide(*UNSURE, memory=turn.memory, policy=CLARIFYING)
    assert again.action is Action.CONFIRM


def test_neither_yes_nor_no_is_read_as_what_the_customer_means_now() -> None:
    asked = decide(*UNSURE, policy=CLARIFYING).memory
    understood = decide(*SURE, text="no, my balance", memory=asked, policy=CLARIFYING)
    assert (understood.action, understood.intent, understood.memory) == (
        Action.ANSWER,
        "balance",
        Memory(),
    )
    still_unsure = decide(*UNSURE, text="erm, the thing", memory=asked, policy=CLARIFYING)
    assert (still_unsure.action, still_unsure.memory) == (
        Action.REPHRASE,
        Memory(stage=Stage.REPHRASE),
    )


def test_without_clarification_a_pending_question_is_still_answered() -> None:
    # A policy changed mid-conversation: the customer's yes still means yes.
    asked = Memory(stage=Stage.CONFIRM, asked="card")
    assert decide(text="yes", memory=asked).intent == "card"


def test_an_answer_to_the_question_needs_no_model() -> None:
    asked = Memory(stage=Stage.CONFIRM, asked="card")
    turn = decide_turn("yes", None, None, asked, CLARIFYING, MODEL)
    assert (turn.action, turn.intent) == (Action.ANSWER, "card")


def test_no_outside_a_clarification_is_what_the_model_says_it_is() -> None:
    turn = decide(("unhelpful", 0.9), text="no", policy=CLARIFYING)
    assert (turn.action, turn.memory.failed_turns) == (Action.ANSWER, 1)


def test_clarification_keeps_the_failed_turns_and_the_mood() -> None:
    start = Memory(failed_turns=1, sentiment=0.25)
    asked = decide(*UNSURE, memory=start, policy=CLARIFYING)
    assert (asked.memory.failed_turns, asked.memory.sentiment) == (1, 0.25)
    no = decide(text="no", sentiment=-0.296, memory=asked.memory, policy=CLARIFYING)
    assert (no.memory.failed_turns, no.memory.sentiment) == (1, -0.296)
