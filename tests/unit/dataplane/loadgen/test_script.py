"""What a load-generator customer says next, given what it was shown."""

import random
from collections import Counter

import pytest
import yaml

from switchboard.dataplane.bot.corpus import GOODBYE, NOT_HELPFUL, SMALL_TALK
from switchboard.dataplane.bot.evaluation import MAX_CUSTOMER_MESSAGES
from switchboard.dataplane.loadgen.answers import Answers
from switchboard.dataplane.loadgen.script import Leave, Say, Script, Wait, choose_need
from tests.unit.dataplane.bot.examples import BETTER, MODELS, example_corpus, example_model

MODEL = example_model(BETTER)


def response(intent: str) -> str:
    text = MODEL.intent(intent).response
    assert text is not None
    return text


def customer(need: str = "bill_amount", seed: int = 1) -> Script:
    corpus = example_corpus()
    return Script(corpus, Answers([MODEL]), need, corpus.utterances[need][0], random.Random(seed))


def said(move: object) -> str:
    assert isinstance(move, Say), move
    return move.text


def test_helped_at_once_they_say_goodbye_and_leave_after_the_answer() -> None:
    script = customer()
    assert said(script.opening()) == example_corpus().utterances["bill_amount"][0]
    assert (
        said(script.shown("bot", response("bill_amount"))) in example_corpus().utterances[GOODBYE]
    )
    assert script.shown("bot", response("goodbye")) == Leave()
    assert not script.handed_off


def test_a_wrong_answer_gets_a_complaint_then_the_need_in_other_words() -> None:
    script = customer()
    opening = said(script.opening())
    assert (
        said(script.shown("bot", response("pay_bill"))) in example_corpus().utterances[NOT_HELPFUL]
    )
    rephrased = said(script.shown("bot", MODEL.messages.fallback))
    assert rephrased in example_corpus().utterances["bill_amount"]
    assert rephrased != opening
    # and the right answer to that ends it as before
    assert (
        said(script.shown("bot", response("bill_amount"))) in example_corpus().utterances[GOODBYE]
    )


def test_they_give_up_on_the_bot_after_as_many_messages_as_the_evaluation_allows() -> None:
    script = customer()
    script.opening()
    moves = [script.shown("bot", response("store_locator")) for _ in range(MAX_CUSTOMER_MESSAGES)]
    assert all(isinstance(move, Say) for move in moves[: MAX_CUSTOMER_MESSAGES - 1])
    assert moves[MAX_CUSTOMER_MESSAGES - 1] == Leave()


def test_with_a_person_they_restate_their_need_say_thanks_and_leave_when_resolved() -> None:
    script = customer(need="agent")
    script.opening()
    assert script.shown("bot", MODEL.messages.handoff) == Wait()
    assert script.handed_off
    assert script.shown("system", "Alice joined") == Wait()
    restated = said(script.shown("agent", "Hello, I'm Alice. How can I help?"))
    assert restated in example_corpus().utterances["agent"]
    assert said(script.shown("agent", "Done.")) in example_corpus().utterances[GOODBYE]
    assert script.shown("agent", "You're welcome.") == Wait()
    assert script.shown("system", "Alice resolved the conversation") == Leave()


def test_without_a_model_any_answer_helps() -> None:
    corpus = example_corpus()
    script = Script(corpus, Answers(), "roaming", "roaming?", random.Random(3))
    script.opening()
    assert said(script.shown("bot", "Anything at all.")) in corpus.utterances[GOODBYE]


def test_needs_come_as_often_as_the_corpus_has_words_for_them() -> None:
    document = yaml.safe_load((MODELS / "telco-corpus.yaml").read_text())
    sizes = {
        label: len(texts)
        for label, texts in document["utterances"].items()
        if label not in SMALL_TALK
    }
    rng = random.Random(7)
    draws = 20000
    counts: Counter[str] = Counter()
    for _ in range(draws):
        need, opening = choose_need(example_corpus(), rng)
        assert opening in document["utterances"][need]
        counts[need] += 1
    assert set(counts) == set(sizes)
    total = sum(sizes.values())
    for need, size in sizes.items():
        assert counts[need] / draws == pytest.approx(size / total, abs=0.012)
