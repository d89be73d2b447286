"""The dialogue model format: what a valid model is, and errors that say what is wrong, where."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from switchboard.dataplane.bot.model import FORMAT, ModelError, check_identity, parse_model
from tests.unit.dataplane.bot.examples import BETTER, WEAKER, example_model

MINIMAL: dict[str, Any] = {
    "format": FORMAT,
    "name": "billing-bot",
    "version": "1.2.0",
    "kind": "intents",
    "language": "en",
    "messages": {"fallback": "Could you say it differently?", "handoff": "Passing you on."},
    "intents": [
        {"name": "bill", "response": "Your bill is in the app.", "examples": ["my bill", "bill"]},
        {"name": "human", "handoff": True, "examples": ["a person", "an agent"]},
    ],
}


def edited(**changes: Any) -> str:
    document = copy.deepcopy(MINIMAL)
    document.update(changes)
    return yaml.safe_dump(document)


def error_of(text: str) -> str:
    with pytest.raises(ModelError) as raised:
        parse_model(text, "configmap://models/bot.yaml")
    return str(raised.value)


def test_the_example_models_are_valid_and_differ_in_what_they_know() -> None:
    weaker, better = example_model(WEAKER), example_model(BETTER)
    assert (weaker.name, weaker.version) == ("telco-support", "1.0.0")
    assert (better.name, better.version) == ("telco-support", "2.0.0")
    assert weaker.intent_names < better.intent_names
    assert {"roaming", "unlock_phone"} <= better.intent_names - weaker.intent_names


def test_a_minimal_model_reads() -> None:
    model = parse_model(edited(), "file:///m.yaml")
    assert model.intent("human").handoff
    assert model.intent("bill").response == "Your bill is in the app."


def test_json_is_read_too() -> None:
    assert parse_model(json.dumps(MINIMAL), "https://x/m.json").name == "billing-bot"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"format": "rasa/v3"}, "format is 'rasa/v3': this bot reads " + FORMAT),
        ({"kind": "neural"}, "kind: Input should be 'intents' or 'remote'"),
        ({"version": "latest"}, "version: String should match pattern"),
        ({"intents": [MINIMAL["intents"][0]]}, "needs at least 2 intents"),
        ({"remote": {"url": "https://nlu"}}, "`remote` is only for kind remote"),
        ({"kind": "remote"}, "a remote model needs `remote`"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        ({"messages": {"fallback": "Again?"}}, "messages.handoff: Field required"),
        (
            {"messages": {**MINIMAL["messages"], "confirm": "Is that it?"}},
            "messages.confirm: confirm must say which intent it asks about: {intent}",
        ),
    ],
)
def test_model_errors_say_what_is_wrong(changes: dict[str, Any], expected: str) -> None:
    message = error_of(edited(**changes))
    assert message.startswith("configmap://models/bot.yaml is not valid: ")
    assert expected in message


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        (
            {"name": "bill", "examples": ["my bill", "bill"]},
            "intents[0] (bill): response is required",
        ),
        (
            {"name": "bill", "response": "x", "examples": ["my bill"]},
            "intents[0] (bill) has 1 examples",
        ),
        (
            {
                "name": "bill",
                "response": "x",
                "ends": True,
                "negative": True,
                "examples": ["a", "b"],
            },
            "intents[0] (bill): at most one of handoff, ends and negative",
        ),
        (
            {"name": "bill", "response": "x", "handoff": True, "examples": ["a", "b"]},
            "intents[0] (bill): a handoff intent has no response",
        ),
        (
            {"name": "Bill!", "response": "x", "examples": ["a", "b"]},
            "intents[0] (Bill!).name: String should match pattern",
        ),
        (
            {"name": "bill", "response": "x", "examples": ["a", "   "]},
            "intents[0] (bill).examples[1]: String should have at least 1 character",
        ),
    ],
)
def test_intent_errors_name_the_intent(intent: dict[str, Any], expected: str) -> None:
    assert expected in error_of(edited(intents=[intent, MINIMAL["intents"][1]]))


def test_did_you_mean_names_the_intent_by_its_label_or_its_name() -> None:
    intents = copy.deepcopy(MINIMAL["intents"])
    intents.append({"name": "data_usage", "response": "In the app.", "examples": ["data", "gb"]})
    intents[0]["label"] = "your latest bill"
    default = parse_model(edited(intents=intents), "file:///m.yaml")
    assert default.confirmation("bill") == "Did you mean: your latest bill?"
    assert default.confirmation("data_usage") == "Did you mean: data usage?"
    messages = {**MINIMAL["messages"], "confirm": "Is it about {intent}? Yes or no?"}
    own = parse_model(edited(intents=intents, messages=messages), "file:///m.yaml")
    assert own.confirmation("bill") == "Is it about your latest bill? Yes or no?"


def test_an_unquoted_yaml_no_is_reported_where_it_is() -> None:
    # YAML 1.1 reads a bare `no` as false: the author must quote it.
    text = edited().replace("- my bill", "- no")
    assert "intents[0] (bill).examples[0]: Input should be a valid string" in error_of(text)


def test_an_example_may_not_teach_two_intents() -> None:
    intents = copy.deepcopy(MINIMAL["intents"])
    intents[1]["examples"].append("My  BILL")
    assert "'My  BILL' is in bill and human" in error_of(edited(intents=intents))


def test_intent_names_are_unique() -> None:
    intents = [MINIMAL["intents"][0], {**MINIMAL["intents"][0], "examples": ["x", "y"]}]
    assert "intent names must be unique; repeated: bill" in error_of(edited(intents=intents))


def test_a_remote_model_needs_no_examples() -> None:
    model = parse_model(
        edited(
            kind="remote",
            remote={"url": "https://nlu.example/parse", "timeoutSeconds": 1.5},
            intents=[{"name": "bill", "response": "In the app."}],
        ),
        "m",
    )
    assert model.remote is not None and model.remote.timeout_seconds == 1.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [("format: [unclosed", "is not YAML or JSON"), ("- a list", "is not a model")],
)
def test_text_that_is_not_a_model(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_a_model_is_served_only_under_its_own_name_and_version() -> None:
    model = parse_model(edited(), "file:///m.yaml")
    check_identity(model, "billing-bot", "1.2.0", "file:///m.yaml")
    with pytest.raises(
        ModelError, match=r"holds model billing-bot 1\.2\.0, but this bot is to serve"
    ):
        check_identity(model, "billing-bot", "1.3.0", "file:///m.yaml")
    with pytest.raises(ModelError):
        check_identity(model, "other-bot", "1.2.0", "file:///m.yaml")
