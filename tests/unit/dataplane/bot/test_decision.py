"""The handoff decision: every reason to hand off, its edges, and what the bot says."""

from __future__ import annotations

import pytest

from switchboard.dataplane.bot.decision import Action, Reason, Turn, Understanding, decide_turn
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.wiring import HandoffWiring

# Binary fractions, so the edges below are exact.
SETTINGS = HandoffWiring(confidence_threshold=0.625, ambiguity_margin=0.125, max_failed_turns=2)
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
            {"name": "card", "response": "Cards are in the app."},
            {"name": "human", "handoff": True},
            {"name": "bye", "ends": True, "response": "Goodbye!"},
            {"name": "unhelpful", "negative": True},
            {"name": "wrong", "negative": True, "response": "Sorry! What did you mean?"},
        ],
    }
)


def decide(*ranking: tuple[str, float], failed: int = 0, response: str | None = None) -> Turn:
    return decide_turn(Understanding(ranking, response), failed, SETTINGS, MODEL)


def test_a_confident_clear_answer() -> None:
    turn = decide(("balance", 0.8), ("card", 0.1))
    assert turn.action is Action.ANSWER
    assert turn.reply == "Your balance is in the app."
    assert (turn.intent, turn.confidence, turn.reason, turn.outcome) == ("balance", 0.8, None, None)


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
    assert (first.action, first.failed_turns) == (Action.ANSWER, 1)
    assert first.reply == "Could you say it in other words?"  # the model's fallback
    second = decide(("unhelpful", 0.9), failed=first.failed_turns)
    assert (second.action, second.reason, second.failed_turns) == (
        Action.HAND_OFF,
        Reason.FAILED_TURNS,
        2,
    )
    assert second.outcome == "escalated"


def test_a_negative_intent_may_answer_with_its_own_words() -> None:
    assert decide(("wrong", 0.9)).reply == "Sorry! What did you mean?"


def test_answers_do_not_count_as_failed_turns() -> None:
    assert decide(("balance", 0.9), failed=1).failed_turns == 1


def test_a_goodbye_ends_the_conversation_contained() -> None:
    turn = decide(("bye", 0.95))
    assert (turn.action, turn.reply, turn.outcome) == (Action.END, "Goodbye!", "contained")


def test_a_remote_models_response_is_said_instead_of_the_intents() -> None:
    turn = decide(("card", 0.9), response="Your new card ships Monday.")
    assert turn.reply == "Your new card ships Monday."


@pytest.mark.parametrize("understanding", [None, Understanding(())])
def test_a_model_that_could_not_say_fails_the_turn(understanding: Understanding | None) -> None:
    turn = decide_turn(understanding, 1, SETTINGS, MODEL)
    assert (turn.action, turn.reason, turn.outcome) == (
        Action.HAND_OFF,
        Reason.BOT_FAILURE,
        "failed",
    )
    assert turn.reply == "Passing you on."
    assert turn.failed_turns == 1
