"""What a customer makes of the bot's replies, by the example models' own texts."""

from switchboard.dataplane.loadgen.answers import Answers, Kind
from tests.unit.dataplane.bot.examples import BETTER, WEAKER, example_model


def test_an_intents_response_answers_that_intent_and_no_other() -> None:
    model = example_model(BETTER)
    answers = Answers([model])
    reading = answers.read(model.intent("bill_amount").response or "")
    assert reading.kind is Kind.ANSWER
    assert reading.helps_with("bill_amount")
    assert not reading.helps_with("pay_bill")


def test_the_models_own_messages_are_told_apart() -> None:
    model = example_model(BETTER)
    answers = Answers([model])
    assert answers.read(model.messages.handoff).kind is Kind.HANDOFF
    assert answers.read(model.messages.fallback).kind is Kind.FALLBACK
    assert answers.read(model.intent("goodbye").response or "").kind is Kind.GOODBYE


def test_case_and_spacing_do_not_hide_a_reply() -> None:
    model = example_model(BETTER)
    text = model.intent("roaming").response or ""
    assert Answers([model]).read("  " + text.upper().replace(" ", "  ")).helps_with("roaming")


def test_a_reply_no_model_knows_is_taken_as_an_answer() -> None:
    reading = Answers().read("Your parcel arrives tomorrow.")
    assert reading.kind is Kind.UNKNOWN
    assert reading.helps_with("bill_amount")


def test_two_models_are_read_at_once() -> None:
    weaker, better = example_model(WEAKER), example_model(BETTER)
    answers = Answers([weaker, better])
    for model in (weaker, better):
        response = model.intent("pay_bill").response or ""
        assert answers.read(response).helps_with("pay_bill")
        assert answers.read(model.messages.handoff).kind is Kind.HANDOFF
