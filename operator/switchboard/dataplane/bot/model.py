"""The dialogue model format, `switchboard.io/dialogue-model/v1` (docs/models.md): what a model
file holds and the checks it must pass before the bot serves it.

A model is intents with example utterances and responses, compiled into a classifier at load
(`kind: intents`), or the same intents answered by an external NLU or LLM endpoint
(`kind: remote`). `parse_model` reads a file's text and says what is wrong, and where.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, Self, TypeVar

import yaml
from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from switchboard.api.types import ApiModel, ModelName, ModelVersion

FORMAT = "switchboard.io/dialogue-model/v1"
# Fewest examples an intent of a `kind: intents` model may have (one per side of a split).
MIN_EXAMPLES = 2
MAX_TEXT = 2000
INTENT_PLACEHOLDER = "{intent}"
DEFAULT_CONFIRM = f"Did you mean: {INTENT_PLACEHOLDER}?"

IntentName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]


class ModelError(ValueError):
    """A model that cannot be served: not found, not readable, or not a valid model."""


class Intent(ApiModel):
    """Something a customer means, how they say it, and what the bot does about it."""

    name: IntentName
    examples: list[Text] = Field(default_factory=list, max_length=5000)
    response: Text | None = None
    handoff: bool = False
    """The customer asks for a human: the bot hands off and says `messages.handoff`."""
    ends: bool = False
    """A goodbye: the bot says `response` and the conversation ends, contained."""
    negative: bool = False
    """"That did not help": a failed turn; the bot says `response` or `messages.fallback`."""
    label: Text | None = None
    """How the bot names the intent when it asks whether the customer meant it; by default
    its name, with spaces for underscores."""

    @model_validator(mode="after")
    def _one_role(self) -> Self:
        if sum((self.handoff, self.ends, self.negative)) > 1:
            raise ValueError("at most one of handoff, ends and negative may be true")
        if self.handoff and self.response is not None:
            raise ValueError("a handoff intent has no response: the bot says messages.handoff")
        if self.response is None and not (self.handoff or self.negative):
            raise ValueError("response is required (only handoff and negative intents omit it)")
        return self


class Messages(ApiModel):
    """What the bot says when no intent's response applies."""

    fallback: Text
    """After a failed turn that does not hand off yet: asks the customer to rephrase."""
    handoff: Text
    """When the bot hands the conversation to a human."""
    confirm: Text = DEFAULT_CONFIRM
    """Asks whether the customer meant an intent (`spec.bot.handoff.clarify`): `{intent}` is
    replaced by the intent's label."""

    @field_validator("confirm")
    @classmethod
    def _names_the_intent(cls, confirm: str) -> str:
        if INTENT_PLACEHOLDER not in confirm:
            raise ValueError(f"confirm must say which intent it asks about: {INTENT_PLACEHOLDER}")
        return confirm


class Remote(ApiModel):
    """The endpoint a `kind: remote` model asks to rank a customer's message."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)]
    timeout_seconds: float = Field(2.0, gt=0, le=30)


class DialogueModel(ApiModel):
    format: str
    name: ModelName
    version: ModelVersion
    kind: Literal["intents", "remote"]
    language: Language
    messages: Messages
    intents: list[Intent] = Field(min_length=1, max_length=1000)
    remote: Remote | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_format(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("format") != FORMAT:
            raise ValueError(
                f"format is {data.get('format')!r}: this bot reads {FORMAT} "
                "(set `format: " + FORMAT + "`)"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [intent.name for intent in self.intents]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"intent names must be unique; repeated: {', '.join(duplicates)}")
        if self.kind == "remote":
            if self.remote is None:
                raise ValueError("a remote model needs `remote` (its endpoint's url)")
            return self
        if self.remote is not None:
            raise ValueError("`remote` is only for kind remote")
        if len(self.intents) < 2:
            raise ValueError("an intents model needs at least 2 intents to tell apart")
        for index, intent in enumerate(self.intents):
            if len(intent.examples) < MIN_EXAMPLES:
                raise ValueError(
                    f"intents[{index}] ({intent.name}) has {len(intent.examples)} examples: "
                    f"an intents model needs at least {MIN_EXAMPLES} per intent"
                )
        clashes = _shared_examples(self.intents)
        if clashes:
            raise ValueError("an example may belong to one intent only: " + "; ".join(clashes))
        return self

    def intent(self, name: str) -> Intent:
        return next(intent for intent in self.intents if intent.name == name)

    def confirmation(self, name: str) -> str:
        """The question whether the customer meant the intent `name`."""
        intent = self.intent(name)
        label = intent.label or intent.name.replace("_", " ")
        return self.messages.confirm.replace(INTENT_PLACEHOLDER, label)

    @property
    def intent_names(self) -> frozenset[str]:
        return frozenset(intent.name for intent in self.intents)


def check_identity(model: DialogueModel, name: str, version: str, source: str) -> None:
    """Refuses a model that is not the one the bot is to serve (`spec.bot.model`): a rollout
    must never serve one version under another's name."""
    if (model.name, model.version) != (name, version):
        raise ModelError(
            f"{source} holds model {model.name} {model.version}, but this bot is to serve "
            f"{name} {version} (spec.bot.model): refusing to serve it"
        )


def normalised(text: str) -> str:
    """How examples are compared: case and spacing do not make two examples different."""
    return " ".join(text.casefold().split())


def _shared_examples(intents: Iterable[Intent]) -> list[str]:
    owner: dict[str, str] = {}
    clashes = []
    for intent in intents:
        for example in intent.examples:
            key = normalised(example)
            first = owner.setdefault(key, intent.name)
            if first != intent.name:
                clashes.append(f"{example!r} is in {first} and {intent.name}")
    return clashes


def parse_model(text: str, source: str) -> DialogueModel:
    """The model in `text` (YAML or JSON), read from `source`; a ModelError says what is wrong
    and where (`intents[3] (billing).response: ...`)."""
    return validated(
        DialogueModel, text, source, f"a model: expected a mapping with `format: {FORMAT}`"
    )


Document = TypeVar("Document", bound=BaseModel)


def validated(kind: type[Document], text: str, source: str, expected: str) -> Document:
    """`text` (YAML or JSON) as a `kind`, or a ModelError naming each problem and where."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ModelError(f"{source} is not YAML or JSON: {error}") from None
    if not isinstance(document, dict):
        raise ModelError(f"{source} is not {expected}")
    try:
        return kind.model_validate(document)
    except ValidationError as error:
        problems = [
            f"{_where(problem['loc'], document)}: {problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors()
        ]
        raise ModelError(f"{source} is not valid: " + "; ".join(problems)) from None


def _where(location: Sequence[int | str], document: dict[str, Any]) -> str:
    """`intents.3.response` as `intents[3] (billing).response`: the index and the name."""
    if not location:
        return "top level"
    parts: list[str] = []
    node: Any = document
    for key in location:
        if isinstance(key, int) and parts:
            parts[-1] += f"[{key}]"
        else:
            parts.append(str(key))
        node = _child(node, key)
        if isinstance(key, int) and isinstance(node, dict) and isinstance(node.get("name"), str):
            parts[-1] += f" ({node['name']})"
    return ".".join(parts)


def _child(node: Any, key: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None
