"""Which bot track a new conversation goes to (pure): the routing document the operator renders
into the gateways' routing file, and a weighted choice keyed by the conversation's id.

The choice hashes the conversation id onto [0, 1) and reads the track off the cumulative
weights, so it is the same for every retry of a start, on every replica, and new
conversations spread over the tracks in proportion to their weights. A conversation keeps the
track it started with (it is recorded on it): weights only steer new conversations.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class RoutingError(ValueError):
    """The routing file cannot be used; the message says why in one line."""


class BotTrack(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    track: str = Field(min_length=1)
    version: str = Field(min_length=1)
    """The model version the track serves, recorded on the conversations it gets."""
    weight: float = Field(ge=0, allow_inf_nan=False)


class Routing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bot: tuple[BotTrack, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _usable(self) -> Routing:
        names = [track.track for track in self.bot]
        if len(set(names)) != len(names):
            raise ValueError(f"a track is listed twice: {names}")
        if sum(track.weight for track in self.bot) <= 0:
            raise ValueError("every weight is 0: no track can take a new conversation")
        return self


def parse_routing(text: str) -> Routing:
    """The routing document in `text` (JSON), or a RoutingError that says what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RoutingError(f"not JSON: {error}") from None
    try:
        return Routing.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise RoutingError(f"{where}: {first['msg']}") from None


def _unit_interval(conversation_id: uuid.UUID) -> float:
    """A point in [0, 1), uniform over conversation ids, the same for one id everywhere."""
    digest = hashlib.sha256(conversation_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_track(routing: Routing, conversation_id: uuid.UUID) -> BotTrack:
    """The track a new conversation of that id starts on."""
    point = _unit_interval(conversation_id) * sum(track.weight for track in routing.bot)
    reached = 0.0
    for track in routing.bot:
        reached += track.weight
        if point < reached and track.weight > 0:
            return track
    # Rounding can leave the point a hair past the last sum: it belongs to the last weighted track.
    return [track for track in routing.bot if track.weight > 0][-1]
