"""Signing what a gateway exchanges with the programs beside it, and checking their signatures
(pure: the clock is an argument).

- An `api` channel's webhooks carry `X-Switchboard-Signature: sha256=<hex>`, the HMAC-SHA256 of
  the body keyed with the channel's token.
- A provider channel's requests, both ways, carry `X-Switchboard-Timestamp` (whole seconds
  since the epoch) too, and the HMAC covers `<timestamp>.<body>`: a captured request cannot be
  replayed once its timestamp leaves the replay window, and within it the provider message id
  is deduplicated by the store (docs/dataplane.md, "provider protocol").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from switchboard.dataplane.gateway.protocol import Code, ProtocolError

SIGNATURE_HEADER = "X-Switchboard-Signature"
TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
REPLAY_WINDOW_SECONDS = 300
"""How far a signed request's timestamp may be from our clock, either way."""
MAX_TIMESTAMP_DIGITS = 12


def signature(token: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body, keyed with the channel's token>`."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def timestamped_signature(token: str, timestamp: int, body: bytes) -> str:
    """The signature of `<timestamp>.<body>`."""
    return signature(token, f"{timestamp}.".encode() + body)


def signed_headers(token: str, body: bytes, now: float) -> dict[str, str]:
    """The headers that sign `body`, sent at `now` (seconds since the epoch)."""
    timestamp = int(now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: timestamped_signature(token, timestamp, body),
    }


def verify(
    token: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    window: float = REPLAY_WINDOW_SECONDS,
) -> None:
    """Refuses (401) a request that is unsigned, signed with another key or over other bytes,
    or whose timestamp is more than `window` seconds from `now`."""
    stamp = headers.get(TIMESTAMP_HEADER, "").strip()
    presented = headers.get(SIGNATURE_HEADER, "").strip()
    if not stamp or not presented:
        raise ProtocolError(
            Code.UNAUTHORIZED,
            f"the request is not signed: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required",
        )
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_TIMESTAMP_DIGITS):
        raise ProtocolError(
            Code.UNAUTHORIZED, f"{TIMESTAMP_HEADER}={stamp!r} is not a time in seconds since 1970"
        )
    timestamp = int(stamp)
    expected = timestamped_signature(token, timestamp, body)
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise ProtocolError(
            Code.UNAUTHORIZED, "the signature does not match the timestamp and body"
        )
    age = now - timestamp
    if abs(age) > window:
        when = f"{age:.0f}s ago" if age > 0 else f"{-age:.0f}s ahead of our clock"
        raise ProtocolError(
            Code.UNAUTHORIZED,
            f"the request is stale: signed {when}; only requests signed within {window:g}s of "
            "now are accepted (replay protection)",
        )
