"""How fast one connection may send (pure): a token bucket, refilled at `rate` per second up to
`burst`, one token per frame. The clock is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field

FRAMES_PER_SECOND = 5.0
FRAME_BURST = 10.0
"""A person types far slower; a client resending its outbox after a reconnect fits in a burst."""


@dataclass
class TokenBucket:
    rate: float = FRAMES_PER_SECOND
    burst: float = FRAME_BURST
    _tokens: float = field(init=False)
    _stamp: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def take(self, now: float) -> bool:
        """Whether a frame arriving at `now` (seconds) is allowed; takes its token if so."""
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
