"""What agents send the workspace, checked before anything is stored (docs/dataplane.md,
"The agents tier"): WebSocket frames and REST bodies, as pydantic models, and the one-line
complaint a malformed one gets.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from switchboard.api.channels import ChannelType
from switchboard.api.routing import MAX_SKILL_LEVEL, MAX_SKILLS, SkillName

MAX_TEXT = 4000
"""Characters in one agent message."""
MAX_CAPACITY = 50
"""Conversations of one channel type an agent may hold at once."""
MAX_FRAME_BYTES = 32 * 1024

AgentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_not_blank)]
Capacity = dict[ChannelType, Annotated[int, Field(ge=0, le=MAX_CAPACITY)]]
Skills = dict[SkillName, Annotated[int, Field(ge=1, le=MAX_SKILL_LEVEL)]]

T = TypeVar("T")


class Malformed(ValueError):
    """A frame or body that is not what the protocol says; its text says what is wrong."""


class Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


RequestT = TypeVar("RequestT", bound=Request)


# --- REST bodies ---------------------------------------------------------------------------


class SignIn(Request):
    """Who the agent is and what they can take; `available` absent keeps what it was."""

    name: DisplayName
    capacity: Capacity = Field(min_length=1)
    skills: Skills = Field(default_factory=dict, max_length=MAX_SKILLS)
    """The level of each skill of spec.routing they have (1 to 10); queues may require them."""
    available: bool | None = None


class Availability(Request):
    available: bool


class Reply(Request):
    """An agent's message; `id` is chosen by the client, so a resend is the same message."""

    id: uuid.UUID
    text: Text


# --- WebSocket frames ----------------------------------------------------------------------


class SignInFrame(SignIn):
    """The first frame of a connection (a browser cannot set headers on a WebSocket)."""

    type: Literal["sign_in"]
    token: str
    agent: AgentId


class AvailabilityFrame(Availability):
    type: Literal["availability"]


class AcceptFrame(Request):
    type: Literal["accept"]
    conversation: uuid.UUID


class ResumeFrame(Request):
    """Show a conversation the agent holds from after `after` (0: the whole transcript)."""

    type: Literal["resume"]
    conversation: uuid.UUID
    after: int = Field(ge=0)


class SendFrame(Reply):
    type: Literal["send"]
    conversation: uuid.UUID


class ResolveFrame(Request):
    type: Literal["resolve"]
    conversation: uuid.UUID


Frame: TypeAlias = Annotated[
    SignInFrame | AvailabilityFrame | AcceptFrame | ResumeFrame | SendFrame | ResolveFrame,
    Field(discriminator="type"),
]
_FRAME: TypeAdapter[Frame] = TypeAdapter(Frame)


def parse_frame(text: str) -> Frame:
    """A frame from a WebSocket text message, or Malformed saying what is wrong with it."""
    return _validated(lambda: _FRAME.validate_python(_json_object(text)))


def parse_body(model: type[RequestT], raw: bytes) -> RequestT:
    """A REST body as `model`, or Malformed saying what is wrong with it."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8 text") from None
    return _validated(lambda: model.model_validate(_json_object(text)))


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise Malformed(f"not JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(value, dict):
        raise Malformed("expected a JSON object")
    return value


def _validated(validate: Callable[[], T]) -> T:
    try:
        return validate()
    except ValidationError as error:
        raise Malformed(describe(error)) from None


def describe(error: ValidationError) -> str:
    """The first problem pydantic found, as `field: what is wrong`."""
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def authorized(given: str | None, token: str) -> bool:
    """Whether `given` is the workspace token (compared in constant time)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())
