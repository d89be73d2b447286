"""The utterance corpus format."""

from __future__ import annotations

import pytest
import yaml

from switchboard.dataplane.bot.corpus import CORPUS_FORMAT, OUT_OF_SCOPE, parse_corpus
from switchboard.dataplane.bot.model import ModelError
from tests.unit.dataplane.bot.examples import BETTER, example_corpus, example_model


def test_the_example_corpus_brings_every_need_of_the_better_model_and_more() -> None:
    corpus = example_corpus()
    assert set(corpus.utterances) == example_model(BETTER).intent_names | {OUT_OF_SCOPE}
    assert "greeting" not in corpus.needs and "goodbye" not in corpus.needs
    assert {"roaming", "agent", OUT_OF_SCOPE} <= set(corpus.needs)


def corpus_text(utterances: dict[str, list[str]]) -> str:
    return yaml.safe_dump({"format": CORPUS_FORMAT, "domain": "x", "utterances": utterances})


def test_a_corpus_needs_goodbyes_and_complaints_for_its_scripted_customers() -> None:
    with pytest.raises(ModelError, match="needs utterances labelled goodbye, not_helpful"):
        parse_corpus(corpus_text({"bill": ["a", "b"]}), "c.yaml")


def test_every_label_needs_two_utterances_to_rephrase() -> None:
    text = corpus_text({"bill": ["a"], "goodbye": ["bye", "ta"], "not_helpful": ["no", "nope"]})
    with pytest.raises(ModelError, match=r"too few: \['bill'\]"):
        parse_corpus(text, "c.yaml")


def test_the_format_is_checked() -> None:
    with pytest.raises(ModelError, match="format: String should match pattern"):
        parse_corpus(yaml.safe_dump({"format": "v0", "domain": "x", "utterances": {}}), "c")
