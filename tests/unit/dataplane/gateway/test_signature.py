"""A provider's requests are signed over timestamp and body, and refused when unsigned, signed
otherwise, or outside the replay window."""

import hashlib
import hmac

import pytest

from switchboard.dataplane.gateway.protocol import HTTP_STATUS, Code, ProtocolError
from switchboard.dataplane.gateway.signature import (
    REPLAY_WINDOW_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signed_headers,
    verify,
)

TOKEN = "provider-key"
BODY = b'{"id":"SM1","from":"+15550100","text":"hello"}'
NOW = 1_790_000_000.4


def _reference(token: str, text: bytes) -> str:
    """The signature as a provider computes it, written out from the documented recipe."""
    return "sha256=" + hmac.new(token.encode(), text, hashlib.sha256).hexdigest()


def _refusal(headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> str:
    with pytest.raises(ProtocolError) as caught:
        verify(TOKEN, body, headers, now)
    assert caught.value.code is Code.UNAUTHORIZED
    assert HTTP_STATUS[caught.value.code] == 401
    return caught.value.message


def test_the_signature_covers_the_timestamp_a_dot_and_the_body() -> None:
    headers = signed_headers(TOKEN, BODY, NOW)
    assert headers[TIMESTAMP_HEADER] == "1790000000"
    assert headers[SIGNATURE_HEADER] == _reference(TOKEN, b"1790000000." + BODY)


def test_the_api_webhook_signature_covers_the_body_alone() -> None:
    assert signature(TOKEN, BODY) == _reference(TOKEN, BODY)


def test_a_request_signed_as_documented_within_the_window_passes() -> None:
    stamp = str(int(NOW) - REPLAY_WINDOW_SECONDS + 1)
    headers = {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: _reference(TOKEN, f"{stamp}.".encode() + BODY),
    }
    verify(TOKEN, BODY, headers, NOW)
    verify(TOKEN, BODY, signed_headers(TOKEN, BODY, NOW + 200), NOW)  # a clock a bit ahead


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_an_unsigned_request_is_refused(missing: str) -> None:
    headers = signed_headers(TOKEN, BODY, NOW)
    del headers[missing]
    assert "not signed" in _refusal(headers)
    assert "not signed" in _refusal({})


def test_a_tampered_body_another_key_or_a_moved_timestamp_is_refused() -> None:
    headers = signed_headers(TOKEN, BODY, NOW)
    assert "does not match" in _refusal(headers, BODY.replace(b"hello", b"hullo"))
    assert "does not match" in _refusal(signed_headers("another-key", BODY, NOW))
    moved = {**headers, TIMESTAMP_HEADER: str(int(NOW) + 1)}
    assert "does not match" in _refusal(moved)


@pytest.mark.parametrize("stamp", ["soon", "-5", "1.5", "١٢٣", "9" * 40])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(stamp: str) -> None:
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: _reference(TOKEN, BODY)}
    assert "is not a time in seconds" in _refusal(headers)


@pytest.mark.parametrize(
    ("offset", "when"),
    [(-REPLAY_WINDOW_SECONDS - 2, "ago"), (REPLAY_WINDOW_SECONDS + 2, "ahead of our clock")],
)
def test_a_correctly_signed_request_outside_the_replay_window_is_stale(
    offset: int, when: str
) -> None:
    message = _refusal(signed_headers(TOKEN, BODY, NOW + offset))
    assert "stale" in message and when in message
