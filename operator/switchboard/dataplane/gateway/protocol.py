"""What customers' clients send and are sent (pure): webchat frames, REST bodies (the api
channel's, a provider's), their limits and the error codes every channel uses
(docs/dataplane.md, "The channel gateway").

Everything a client sends is validated here before anything is stored: a malformed, oversized
or unknown request becomes a `ProtocolError` with a stable code and a sentence for people.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from switchboard.dataplane.conversation import State

MAX_TEXT_CHARS = 2000
"""The longest customer message, in characters."""
MAX_FRAME_BYTES = 32 * 1024
"""The largest webchat frame: a message of MAX_TEXT_CHARS fits even with every character
escaped as a UTF-16 surrogate pair (12 bytes)."""
MAX_CUSTOMER_CHARS = 200
MAX_PROVIDER_ID_CHARS = 200
MAX_WAIT_SECONDS = 30.0
"""The longest an API client's read waits for a message (long-poll)."""
GUEST = "guest"
"""Who a webchat customer is when the page does not say."""


class Code(enum.StrEnum):
    """Why a request was refused: the `code` of an error frame or an error body."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    UNKNOWN_CONVERSATION = "unknown_conversation"
    NOT_STARTED = "not_started"
    ALREADY_STARTED = "already_started"
    CONFLICT = "conflict"
    REPLAYED = "replayed"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"


HTTP_STATUS = {
    Code.BAD_REQUEST: 400,
    Code.UNKNOWN_TYPE: 400,
    Code.UNAUTHORIZED: 401,
    Code.UNKNOWN_CONVERSATION: 404,
    Code.NOT_STARTED: 409,
    Code.ALREADY_STARTED: 409,
    Code.CONFLICT: 409,
    Code.REPLAYED: 409,
    Code.CLOSED: 409,
    Code.TOO_LARGE: 413,
    Code.RATE_LIMITED: 429,
    Code.UNAVAILABLE: 503,
}
"""The REST status of each refusal."""


class ProtocolError(Exception):
    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Customer = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CUSTOMER_CHARS)
]
Attributes = dict[str, Any]
ProviderMessageId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PROVIDER_ID_CHARS)
]


class _Strict(BaseModel):
    # Unknown fields are ignored, so a newer client still talks to an older gateway.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Start(_Strict):
    """Start a conversation of the client's chosen id, or join it again (a retried start)."""

    type: Literal["start"]
    conversation: uuid.UUID
    customer: Customer = GUEST
    attributes: Attributes = Field(default_factory=dict)


class Resume(_Strict):
    """Continue a conversation: send what was stored after `after`, then what comes."""

    type: Literal["resume"]
    conversation: uuid.UUID
    after: int = Field(ge=0)


class Send(_Strict):
    type: Literal["message"]
    id: uuid.UUID
    """Chosen by the client, reused when it resends: a resend is the same message."""
    text: str


class End(_Strict):
    """The customer leaves the conversation."""

    type: Literal["end"]


Frame = Start | Resume | Send | End
_FRAMES: TypeAdapter[Frame] = TypeAdapter(Annotated[Frame, Field(discriminator="type")])
FRAME_TYPES = ("start", "resume", "message", "end")


class StartRequest(_Strict):
    """POST /api/v1/conversations."""

    id: uuid.UUID
    customer: Customer
    attributes: Attributes = Field(default_factory=dict)
    webhook: AnyHttpUrl | None = None
    """Where replies are POSTed; without one, the client reads them (long-poll)."""


class MessageRequest(_Strict):
    """POST /api/v1/conversations/{id}/messages."""

    id: uuid.UUID
    text: str


class InboundMessage(_Strict):
    """POST /provider/v1/messages: a customer's message, relayed by their provider."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: ProviderMessageId
    """The provider's id of the message: the same id is the same message (a retry, a replay)."""
    sender: Customer = Field(alias="from")
    """Who wrote it, as the provider knows them: a phone number, a handle."""
    text: str


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def check_text(text: str) -> str:
    """A customer message's text, or why it is refused."""
    if len(text) > MAX_TEXT_CHARS:
        raise ProtocolError(
            Code.TOO_LARGE, f"text has {len(text)} characters; at most {MAX_TEXT_CHARS} fit"
        )
    if not text.strip():
        raise ProtocolError(Code.BAD_REQUEST, "text is empty")
    return text


def _document(raw: str | bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProtocolError(Code.BAD_REQUEST, f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ProtocolError(Code.BAD_REQUEST, "expected a JSON object")
    return document


def parse_frame(raw: str) -> Frame:
    """A webchat frame from the client, validated."""
    document = _document(raw)
    if document.get("type") not in FRAME_TYPES:
        raise ProtocolError(
            Code.UNKNOWN_TYPE,
            f"unknown frame type {document.get('type')!r}; expected one of {FRAME_TYPES}",
        )
    try:
        frame = _FRAMES.validate_python(document)
    except ValidationError as error:
        raise ProtocolError(Code.BAD_REQUEST, _explain(error)) from None
    if isinstance(frame, Send):
        check_text(frame.text)
    return frame


Body = TypeVar("Body", StartRequest, MessageRequest, InboundMessage)


def parse_body(model: type[Body], raw: bytes) -> Body:
    """A REST request's JSON body, validated."""
    try:
        body = model.model_validate(_document(raw))
    except ValidationError as error:
        raise ProtocolError(Code.BAD_REQUEST, _explain(error)) from None
    if isinstance(body, MessageRequest | InboundMessage):
        check_text(body.text)
    return body


def parse_after(text: str | None) -> int:
    """The `after` cursor of a read: a whole number, 0 when absent."""
    if text is None:
        return 0
    if not text.isdigit():
        raise ProtocolError(Code.BAD_REQUEST, f"after={text!r} is not a whole number >= 0")
    return int(text)


def parse_wait(text: str | None) -> float:
    """The `wait` of a long-poll read in seconds: 0 (do not wait) to MAX_WAIT_SECONDS."""
    if text is None:
        return 0.0
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ProtocolError(
            Code.BAD_REQUEST, f"wait={text!r} is not a number of seconds in 0..{MAX_WAIT_SECONDS:g}"
        )
    return wait


# --- what the server sends a webchat client -------------------------------------------------


def started(conversation: uuid.UUID, state: State) -> dict[str, Any]:
    return {"type": "started", "conversation": str(conversation), "state": state.value}


MESSAGE_FIELDS = ("conversation", "seq", "id", "sender", "author", "text", "at")


def message(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A stored message, from a stored message's or a delivery's JSON fields."""
    return {"type": "message", **{name: fields[name] for name in MESSAGE_FIELDS}}


def ack(message_id: uuid.UUID, seq: int) -> dict[str, Any]:
    return {"type": "ack", "id": str(message_id), "seq": seq}


def ended(state: State, survey: bool = False) -> dict[str, Any]:
    """The conversation ended; `survey`: its survey's question waits for the customer's answer."""
    return {"type": "ended", "state": state.value, "survey": survey}


def error(problem: ProtocolError) -> dict[str, Any]:
    return {"type": "error", **error_body(problem)}


# --- what the server answers a REST client --------------------------------------------------


def error_body(problem: ProtocolError) -> dict[str, Any]:
    return {"code": problem.code.value, "message": problem.message}
