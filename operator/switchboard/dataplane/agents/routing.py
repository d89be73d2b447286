"""Which agent gets a waiting conversation: the routing rule, pure.

The store fetches the candidates (signed in, available, present) with what each holds; this
module decides who has room and who comes first. It is the one place the rule lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Candidate:
    """An agent who could be offered a conversation, and what they hold now."""

    id: str
    capacity: Mapping[str, int]
    """How many conversations of each channel type they take at once (absent: none)."""
    holding: Mapping[str, int]
    """Conversations offered to them or accepted by them, per channel type."""
    idle_since: datetime
    """When they last had nothing in hand (or signed in, or became available)."""

    def room(self, channel_type: str) -> int:
        """How many more conversations of `channel_type` they can take."""
        return max(self.capacity.get(channel_type, 0) - self.holding.get(channel_type, 0), 0)

    @property
    def in_hand(self) -> int:
        return sum(self.holding.values())


def rank(
    candidates: Iterable[Candidate], channel_type: str, declined_by: str | None = None
) -> list[str]:
    """The agents with room for a conversation of `channel_type`, best first.

    Longest idle first: an agent with nothing in hand before one with something, and among
    equals the one idle since the earliest. The agent whose offer of this conversation just
    expired comes last: offered it again only when nobody else has room, so a contact never
    waits forever because the one agent who could take it missed an offer once.
    """
    eligible = [candidate for candidate in candidates if candidate.room(channel_type) > 0]
    eligible.sort(
        key=lambda candidate: (
            candidate.id == declined_by,
            candidate.in_hand,
            candidate.idle_since,
            candidate.id,
        )
    )
    return [candidate.id for candidate in eligible]


def channel_types_with_room(candidates: Iterable[Candidate]) -> set[str]:
    """The channel types some candidate has room for: the conversations worth locking."""
    return {
        channel_type
        for candidate in candidates
        for channel_type in candidate.capacity
        if candidate.room(channel_type) > 0
    }
