"""What a customer makes of a bot's reply (pure): the answer to which need, a "please rephrase",
a handoff or a goodbye.

A person reads the reply; the load generator recognises it by the responses of the dialogue
models it was given (`--model`). A reply it cannot place is taken as an answer to what the
customer asked: without a model every answer helps.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from switchboard.dataplane.bot.model import DialogueModel, normalised


class Kind(enum.StrEnum):
    ANSWER = "answer"
    """An intent's response: `intents` says which intents answer that way."""
    FALLBACK = "fallback"
    """The bot did not understand, or heard that it did not help: say it in other words."""
    HANDOFF = "handoff"
    """The bot passes the customer to a person."""
    GOODBYE = "goodbye"
    """The bot took its leave: the conversation ended with it."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reading:
    kind: Kind
    intents: frozenset[str] = frozenset()

    def helps_with(self, need: str) -> bool:
        """Whether the reply answers `need`, as far as the customer can tell."""
        return self.kind is Kind.UNKNOWN or need in self.intents


class Answers:
    """The replies of some dialogue models, by their text."""

    def __init__(self, models: Iterable[DialogueModel] = ()) -> None:
        self._readings: dict[str, Reading] = {}
        for model in models:
            self._learn(model.messages.fallback, Reading(Kind.FALLBACK))
            self._learn(model.messages.handoff, Reading(Kind.HANDOFF))
            for intent in model.intents:
                if intent.response is None:
                    continue
                if intent.negative:
                    self._learn(intent.response, Reading(Kind.FALLBACK))
                elif intent.ends:
                    self._learn(intent.response, Reading(Kind.GOODBYE))
                else:
                    self._learn(intent.response, Reading(Kind.ANSWER, frozenset({intent.name})))

    def _learn(self, text: str, reading: Reading) -> None:
        key = normalised(text)
        known = self._readings.get(key)
        if known is not None and known.kind is reading.kind is Kind.ANSWER:
            # two models (or intents) answering alike: it answers each of them
            reading = Reading(Kind.ANSWER, known.intents | reading.intents)
        self._readings[key] = reading

    def read(self, text: str) -> Reading:
        return self._readings.get(normalised(text), Reading(Kind.UNKNOWN))
