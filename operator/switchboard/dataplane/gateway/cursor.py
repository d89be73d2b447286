"""What one customer connection has been shown, and what to do with the next delivery (pure).

A connection's cursor is the highest `seq` up to which the client has every message: pushed to
it, or its own message that it was acknowledged. A delivery at or below the cursor is dropped
(the client has it); the next one is pushed; one beyond it first needs the gap filled from the
store, in order. The client's own messages acknowledged past a gap are remembered, so the fill
does not push them back and the cursor jumps over them once the gap closes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Next(enum.Enum):
    DROP = "drop"
    """The client has it already."""
    PUSH = "push"
    """It is the next message: push it."""
    FILL = "fill"
    """Messages are missing before it: read what follows the cursor from the store first."""


@dataclass
class Cursor:
    position: int = 0
    """Every message with seq up to here is on the client."""
    ahead: set[int] = field(default_factory=set)
    """Seqs past `position + 1` the client has (its own messages, acknowledged)."""

    def holds(self, seq: int) -> bool:
        """Whether the client has `seq`."""
        return seq <= self.position or seq in self.ahead

    def next(self, seq: int) -> Next:
        """What to do with a delivery of `seq`."""
        if self.holds(seq):
            return Next.DROP
        if seq == self.position + 1:
            return Next.PUSH
        return Next.FILL

    def has(self, seq: int) -> None:
        """The client now has `seq` (it was pushed, or acknowledged as the client's own)."""
        if seq <= self.position:
            return
        self.ahead.add(seq)
        while self.position + 1 in self.ahead:
            self.position += 1
            self.ahead.remove(self.position)

    @property
    def complete(self) -> bool:
        """Whether the client has every message up to the highest seq it holds."""
        return not self.ahead
