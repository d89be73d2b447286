"""How a model understands a customer's message: by its compiled classifier (`kind: intents`),
or by asking its endpoint (`kind: remote`, docs/models.md "Remote models").

A remote endpoint gets `{text, conversation, history, model}` and answers
`{intents: [{name, confidence}], response?}`; no answer within the model's timeout, an error
status or an answer that is not that shape is a failed turn (None), and the bot hands the
conversation off.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from switchboard.dataplane.bot.classifier import IntentClassifier
from switchboard.dataplane.bot.decision import Understanding
from switchboard.dataplane.bot.loader import read_body
from switchboard.dataplane.bot.model import MAX_TEXT, DialogueModel

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Line:
    """One earlier message of the conversation, as a remote model sees it."""

    sender: str
    text: str


class Understander(Protocol):
    @property
    def history_length(self) -> int:
        """How many earlier messages it wants (0: none)."""

    async def understand(
        self, text: str, conversation: uuid.UUID, history: Sequence[Line]
    ) -> Understanding | None: ...


@dataclass(frozen=True)
class Classifying:
    """A compiled intents model: ranking one short text is well under a millisecond, so it
    runs on the event loop."""

    classifier: IntentClassifier
    history_length: int = 0

    async def understand(
        self, text: str, conversation: uuid.UUID, history: Sequence[Line]
    ) -> Understanding | None:
        return Understanding(self.classifier.rank(text))


class _RankedIntent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    confidence: float = Field(ge=0, le=1)


class _RemoteAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    intents: list[_RankedIntent]
    response: str | None = Field(None, min_length=1, max_length=MAX_TEXT)


class Asking:
    """A remote model: its endpoint ranks the message, with the conversation so far."""

    history_length = 20

    def __init__(
        self, model: DialogueModel, session: aiohttp.ClientSession, token: str | None = None
    ) -> None:
        assert model.remote is not None
        self.model = model
        self.url = model.remote.url
        self.timeout = aiohttp.ClientTimeout(total=model.remote.timeout_seconds)
        self.session = session
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def understand(
        self, text: str, conversation: uuid.UUID, history: Sequence[Line]
    ) -> Understanding | None:
        request = {
            "text": text,
            "conversation": str(conversation),
            "history": [{"sender": line.sender, "text": line.text} for line in history],
            "model": {"name": self.model.name, "version": self.model.version},
        }
        try:
            async with self.session.post(
                self.url, json=request, timeout=self.timeout, headers=self.headers
            ) as response:
                if response.status != 200:
                    logger.warning("the model endpoint answered %s", response.status)
                    return None
                body = await read_body(response, MAX_RESPONSE_BYTES)
        except (TimeoutError, aiohttp.ClientError) as error:
            logger.warning("the model endpoint did not answer: %s", type(error).__name__)
            return None
        return self.read_answer(body)

    def read_answer(self, body: bytes) -> Understanding | None:
        """The endpoint's answer as an Understanding, or None if it is not one (too big, not
        the documented shape, or naming intents the model does not have)."""
        if len(body) > MAX_RESPONSE_BYTES:
            logger.warning("the model endpoint's answer is over %s bytes", MAX_RESPONSE_BYTES)
            return None
        try:
            answer = _RemoteAnswer.model_validate_json(body)
        except ValidationError as error:
            first = error.errors()[0]
            logger.warning(
                "the model endpoint's answer is malformed: %s: %s",
                ".".join(str(part) for part in first["loc"]) or "the answer",
                first["msg"],
            )
            return None
        unknown = {ranked.name for ranked in answer.intents} - self.model.intent_names
        if unknown:
            logger.warning("the model endpoint named unknown intents: %s", sorted(unknown))
            return None
        ranking = sorted(
            ((ranked.name, ranked.confidence) for ranked in answer.intents),
            key=lambda pair: pair[1],
            reverse=True,
        )
        return Understanding(tuple(ranking), answer.response)
