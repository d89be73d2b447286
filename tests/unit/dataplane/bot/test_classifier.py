"""The compiled classifier, measured on the corpus's held-out paraphrases (none of them is a
training example): accuracy, calibration, and low confidence on what no intent covers."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from switchboard.dataplane.bot.classifier import compile_model, fit, served
from switchboard.dataplane.bot.corpus import OUT_OF_SCOPE
from switchboard.dataplane.bot.model import DialogueModel, normalised
from tests.unit.dataplane.bot.examples import (
    BETTER,
    WEAKER,
    example_classifier,
    example_corpus,
    example_model,
)


def held_out(version: str) -> list[tuple[str, str, float]]:
    """(intent meant, intent ranked first, its confidence) for every corpus utterance of an
    intent the model has."""
    model, classifier = example_model(version), example_classifier(version)
    rows = []
    for label, texts in example_corpus().utterances.items():
        if label in model.intent_names:
            for text in texts:
                intent, confidence = classifier.rank(text)[0]
                rows.append((label, intent, confidence))
    return rows


def test_the_corpus_is_held_out_from_both_models() -> None:
    corpus = {normalised(text) for texts in example_corpus().utterances.values() for text in texts}
    for version in (WEAKER, BETTER):
        examples = {
            normalised(e) for intent in example_model(version).intents for e in intent.examples
        }
        assert not corpus & examples


@pytest.mark.parametrize(
    # Measured: 0.970 of 232 and 0.884 of 155; the bounds are about 4 standard errors below.
    ("version", "at_least"),
    [(BETTER, 0.93), (WEAKER, 0.82)],
)
def test_held_out_paraphrases_are_classified_right(version: str, at_least: float) -> None:
    rows = held_out(version)
    accuracy = sum(meant == ranked for meant, ranked, _ in rows) / len(rows)
    assert accuracy >= at_least, f"{accuracy:.3f} of {len(rows)}"


def test_confidence_tracks_accuracy_on_held_out_text() -> None:
    # Both models' held-out predictions, binned by confidence: in each bin the share right is
    # near the mean confidence (within sampling error), and the expected calibration error is
    # small. Measured ECE: 0.04.
    rows = held_out(BETTER) + held_out(WEAKER)
    edges = (0.0, 0.7, 0.9, 0.97, 1.0 + 1e-9)
    weighted_gap = 0.0
    for low, high in itertools.pairwise(edges):
        inside = [(meant == ranked, p) for meant, ranked, p in rows if low <= p < high]
        assert len(inside) >= 15, f"too few predictions in [{low}, {high}) to judge"
        accuracy = sum(right for right, _ in inside) / len(inside)
        confidence = statistics.fmean(p for _, p in inside)
        standard_error = math.sqrt(max(confidence * (1 - confidence), 0.01) / len(inside))
        gap = abs(accuracy - confidence)
        assert gap <= max(0.12, 3 * standard_error), (low, high, len(inside), accuracy, confidence)
        weighted_gap += gap * len(inside) / len(rows)
    assert weighted_gap <= 0.08


def test_out_of_scope_text_gets_low_confidence() -> None:
    classifier = example_classifier(BETTER)
    outside = [classifier.rank(text)[0][1] for text in example_corpus().utterances[OUT_OF_SCOPE]]
    inside = [p for *_, p in held_out(BETTER)]
    # Measured: out-of-scope median 0.56, 22 of 40 below 0.7; in scope, 9 in 10 above 0.8.
    assert statistics.median(outside) <= 0.65
    assert statistics.median(outside) < np.quantile(inside, 0.1)
    assert sum(p < 0.7 for p in outside) / len(outside) >= 0.4


def test_confidences_are_a_distribution() -> None:
    ranking = example_classifier(BETTER).rank("my phone fell in the sea")
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    assert math.isclose(sum(p for _, p in ranking), 1.0)
    assert {intent for intent, _ in ranking} == example_model(BETTER).intent_names


def test_served_probabilities_equal_scikit_learns_on_unseen_text() -> None:
    # The bot serves the fitted parameters itself; scikit-learn's own predict_proba is the
    # reference, on text with words and typos the examples never had.
    model = example_model(WEAKER)
    pipeline, calibrated = fit(model)
    classifier = served(pipeline, calibrated)
    texts = [text for texts in example_corpus().utterances.values() for text in texts]
    texts += ["", "   ", "zzzz qqqq", "ÇA NE MARCHE PAS!!", "how much dat have I usd"]
    expected = pipeline.predict_proba(texts)
    actual = np.array([classifier.probabilities(text) for text in texts])
    assert np.abs(expected - actual).max() < 1e-9


def test_compiling_twice_gives_the_same_classifier() -> None:
    first, second = compile_model(example_model(WEAKER)), example_classifier(WEAKER)
    text = "can I pay my bill in a shop"
    assert first.rank(text) == second.rank(text)


def tiny_model(examples_per_intent: int, intents: int) -> DialogueModel:
    texts = {
        "bill": [
            "how much is my bill",
            "my bill amount",
            "what do I owe",
            "bill total",
            "my invoice",
        ],
        "pay": ["pay my bill", "make a payment", "pay by card", "pay online", "direct debit"],
        "human": ["a person please", "talk to an agent", "human", "real person", "an operator"],
    }
    chosen = list(texts.items())[:intents]
    return DialogueModel.model_validate(
        {
            "format": "switchboard.io/dialogue-model/v1",
            "name": "tiny",
            "version": "1",
            "kind": "intents",
            "language": "en",
            "messages": {"fallback": "Again?", "handoff": "Passing you on."},
            "intents": [
                {"name": name, "examples": examples[:examples_per_intent]}
                | ({"handoff": True} if name == "human" else {"response": f"About {name}."})
                for name, examples in chosen
            ],
        }
    )


@pytest.mark.parametrize(
    ("examples", "intents", "calibrated"),
    [(2, 3, False), (5, 3, True), (5, 2, True), (2, 2, False)],
)
def test_small_models_compile_with_or_without_calibration(
    examples: int, intents: int, calibrated: bool
) -> None:
    # Calibration needs 3 examples of every intent; with two intents the scores are binary.
    classifier = compile_model(tiny_model(examples, intents))
    assert classifier.calibrated is calibrated
    assert classifier.rank("how much is my bill this month")[0][0] == "bill"
    assert classifier.rank("I'd like to pay my bill by card")[0][0] == "pay"
