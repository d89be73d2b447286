"""What travels on the bus between the roles: small JSON documents, validated on receipt."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from switchboard.dataplane.conversation import Sender, State


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


class CustomerTurn(Envelope):
    """Work for the bot: a stored customer message to answer."""

    conversation: uuid.UUID
    seq: int
    message: uuid.UUID
    text: str
    channel: str
    channel_type: str


class Delivery(Envelope):
    """A nudge: a message was stored that a client of `channel` (or an agent) should see."""

    conversation: uuid.UUID
    channel: str
    seq: int
    id: uuid.UUID
    sender: Sender
    author: str | None = None
    text: str
    at: str
    ended: State | None = None
    """The state the conversation ended in with this message (a goodbye contained by the bot,
    an agent's resolve), so the customer's client hears the end without asking."""


class AgentNudge(Envelope):
    """Something agents should look at: the queue changed, an offer, a conversation ended."""

    kind: Literal["queue", "offer", "offer_expired", "accepted", "ended", "message"]
    conversation: uuid.UUID | None = None
    agent: str | None = None
    delivery: Delivery | None = None
