"""Scripted customers: the conversation they hold with a bot, and the two example models'
containment on the same traffic."""

from __future__ import annotations

import dataclasses
import random

from switchboard.api.bot import Handoff
from switchboard.dataplane.bot.classifier import Ranking
from switchboard.dataplane.bot.evaluation import Played, Rank, accuracy, evaluate, play
from switchboard.dataplane.wiring import HandoffPolicy, handoff_policy
from tests.unit.dataplane.bot.examples import (
    BETTER,
    WEAKER,
    example_classifier,
    example_corpus,
    example_model,
)

SETTINGS = handoff_policy(Handoff())  # threshold 0.6, margin 0.1, 2 failed turns
CORPUS = example_corpus()


def oracle(text: str) -> Ranking:
    """A model that always knows what the customer means."""
    label = next(label for label, texts in CORPUS.utterances.items() if text in texts)
    return ((label, 0.95), ("greeting", 0.05))


def always(intent: str) -> Rank:
    def rank(text: str) -> Ranking:
        if text in CORPUS.utterances["not_helpful"]:
            return (("not_helpful", 0.95), (intent, 0.05))
        return ((intent, 0.95), ("not_helpful", 0.05))

    return rank


def unsure(intent: str) -> Rank:
    """A model that ranks `intent` first, but never confidently."""

    def rank(text: str) -> Ranking:
        return ((intent, 0.4), ("greeting", 0.3))

    return rank


def play_one(rank: Rank, need: str, policy: HandoffPolicy = SETTINGS) -> Played:
    opening = CORPUS.utterances[need][0]
    return play(rank, example_model(BETTER), policy, CORPUS, need, opening, random.Random(1))


def test_a_customer_helped_at_once_says_goodbye() -> None:
    played = play_one(oracle, "roaming")
    assert (played.outcome, played.resolved, played.messages) == ("contained", True, 2)


def test_a_customer_who_asks_for_a_human_gets_one() -> None:
    played = play_one(oracle, "agent")
    assert (played.outcome, played.reason, played.messages) == ("escalated", "explicit_request", 1)


def test_wrong_answers_end_in_a_handoff_after_the_failed_turns() -> None:
    # opening -> wrong answer; "not helpful" -> failed turn 1; rephrased -> wrong answer;
    # "not helpful" -> failed turn 2: handed off
    played = play_one(always("store_locator"), "roaming")
    assert (played.outcome, played.reason, played.messages) == ("escalated", "failed_turns", 4)


def test_a_customer_who_confirms_the_guess_is_helped() -> None:
    # opening -> "Did you mean: roaming?"; "yes" -> the answer; goodbye
    clarifying = dataclasses.replace(SETTINGS, clarify=True)
    played = play_one(unsure("roaming"), "roaming", clarifying)
    assert (played.outcome, played.resolved, played.messages) == ("contained", True, 3)
    assert play_one(unsure("roaming"), "roaming").reason == "low_confidence"


def test_a_wrong_guess_is_denied_rephrased_then_handed_off() -> None:
    # opening -> "Did you mean: store locator?"; "no" -> rephrase; still unsure: handed off
    clarifying = dataclasses.replace(SETTINGS, clarify=True)
    played = play_one(unsure("store_locator"), "roaming", clarifying)
    assert (played.outcome, played.reason, played.messages) == ("escalated", "low_confidence", 3)


def test_the_better_model_contains_more_of_the_same_traffic() -> None:
    # Measured at these settings: 1.0.0 contains 0.343 of 230 conversations, 2.0.0 0.726; at
    # most 175 of 230 (0.761) can be, the rest ask for an agent or are out of scope.
    results = {
        version: evaluate(
            example_classifier(version).rank, example_model(version), SETTINGS, CORPUS
        )
        for version in (WEAKER, BETTER)
    }
    weaker, better = results[WEAKER], results[BETTER]
    assert len(better.played) == len(weaker.played) == 230
    assert better.containment - weaker.containment >= 0.25
    assert 0.65 <= better.containment <= 175 / 230
    assert 0.25 <= weaker.containment <= 0.45
    # what the bot contains, it contains by answering what the customer meant
    assert better.resolution >= better.containment - 0.02


def test_accuracy_counts_only_the_models_own_intents() -> None:
    share, count = accuracy(oracle, example_model(WEAKER), CORPUS)
    assert (share, count) == (1.0, 155)
