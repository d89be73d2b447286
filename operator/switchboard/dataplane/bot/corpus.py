"""The utterance corpus format, `switchboard.io/utterance-corpus/v1` (docs/models.md): what
customers write, labelled with what they mean. The load generator draws its customers' messages
from one; `evaluation` measures a model on one.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from switchboard.api.types import ApiModel
from switchboard.dataplane.bot.model import IntentName, Text, validated

CORPUS_FORMAT = "switchboard.io/utterance-corpus/v1"
OUT_OF_SCOPE = "out_of_scope"
"""The label of what no model should answer: an agent should handle it."""
GOODBYE = "goodbye"
NOT_HELPFUL = "not_helpful"
GREETING = "greeting"
SMALL_TALK = frozenset({GREETING, GOODBYE, NOT_HELPFUL})
"""Labels that are not a need a customer comes with."""


class Corpus(ApiModel):
    format: Annotated[str, StringConstraints(pattern=f"^{CORPUS_FORMAT}$")]
    domain: str
    utterances: dict[IntentName, list[Text]] = Field(min_length=1)

    @model_validator(mode="after")
    def _scripted(self) -> Self:
        missing = sorted({GOODBYE, NOT_HELPFUL} - set(self.utterances))
        if missing:
            raise ValueError(
                f"the corpus needs utterances labelled {', '.join(missing)}: a scripted "
                "customer says goodbye when helped and says so when not"
            )
        thin = sorted(label for label, texts in self.utterances.items() if len(texts) < 2)
        if thin:
            raise ValueError(f"each label needs at least 2 utterances; too few: {thin}")
        return self

    @property
    def needs(self) -> list[str]:
        """The labels customers come with (what they want done, or out of scope)."""
        return [label for label in self.utterances if label not in SMALL_TALK]


def parse_corpus(text: str, source: str) -> Corpus:
    return validated(Corpus, text, source, f"a corpus: expected `format: {CORPUS_FORMAT}`")
