"""The example models and corpus (examples/models/), loaded once for the tests that use them."""

from __future__ import annotations

import functools
from pathlib import Path

from switchboard.dataplane.bot.classifier import IntentClassifier, compile_model
from switchboard.dataplane.bot.corpus import Corpus, parse_corpus
from switchboard.dataplane.bot.model import DialogueModel, parse_model

MODELS = Path(__file__).resolve().parents[4] / "examples" / "models"
WEAKER, BETTER = "1.0.0", "2.0.0"


@functools.cache
def example_model(version: str) -> DialogueModel:
    path = MODELS / f"telco-support-{version}.yaml"
    return parse_model(path.read_text(), str(path))


@functools.cache
def example_classifier(version: str) -> IntentClassifier:
    return compile_model(example_model(version))


@functools.cache
def example_corpus() -> Corpus:
    path = MODELS / "telco-corpus.yaml"
    return parse_corpus(path.read_text(), str(path))
