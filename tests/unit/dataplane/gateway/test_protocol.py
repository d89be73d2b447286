"""What clients may send: every malformed, oversized or unknown request is refused with a code."""

import json
import uuid

import pytest

from switchboard.dataplane.gateway.protocol import (
    GUEST,
    HTTP_STATUS,
    MAX_FRAME_BYTES,
    MAX_TEXT_CHARS,
    Code,
    End,
    MessageRequest,
    ProtocolError,
    Resume,
    Send,
    Start,
    StartRequest,
    parse_after,
    parse_body,
    parse_frame,
    parse_wait,
)

CONVERSATION = uuid.uuid4()
MESSAGE = uuid.uuid4()


def _refused(code: Code, call: object, *args: object) -> str:
    with pytest.raises(ProtocolError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.code is code, caught.value.message
    return caught.value.message


def test_each_frame_type_is_read() -> None:
    start = parse_frame(json.dumps({"type": "start", "conversation": str(CONVERSATION)}))
    assert start == Start(type="start", conversation=CONVERSATION, customer=GUEST)
    resume = parse_frame(
        json.dumps({"type": "resume", "conversation": str(CONVERSATION), "after": 7})
    )
    assert resume == Resume(type="resume", conversation=CONVERSATION, after=7)
    send = parse_frame(json.dumps({"type": "message", "id": str(MESSAGE), "text": "hello"}))
    assert send == Send(type="message", id=MESSAGE, text="hello")
    assert parse_frame('{"type": "end"}') == End(type="end")


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ("{oops", Code.BAD_REQUEST, "not JSON"),
        ("[1, 2]", Code.BAD_REQUEST, "a JSON object"),
        ('{"type": "shout"}', Code.UNKNOWN_TYPE, "'shout'"),
        ('{"text": "no type"}', Code.UNKNOWN_TYPE, "None"),
        ('{"type": "start", "conversation": "not-a-uuid"}', Code.BAD_REQUEST, "conversation"),
        (
            json.dumps({"type": "resume", "conversation": str(CONVERSATION), "after": -1}),
            Code.BAD_REQUEST,
            "after",
        ),
        ('{"type": "message", "text": "no id"}', Code.BAD_REQUEST, "id: Field required"),
        (
            json.dumps({"type": "message", "id": str(MESSAGE), "text": "  "}),
            Code.BAD_REQUEST,
            "empty",
        ),
        (json.dumps({"type": "message", "id": str(MESSAGE), "text": 5}), Code.BAD_REQUEST, "text"),
    ],
)
def test_a_malformed_or_unknown_frame_is_refused_with_its_code(
    raw: str, code: Code, says: str
) -> None:
    assert says in _refused(code, parse_frame, raw)


def test_a_message_longer_than_the_limit_is_too_large_and_one_at_the_limit_is_not() -> None:
    def frame(text: str) -> str:
        return json.dumps({"type": "message", "id": str(MESSAGE), "text": text})

    assert parse_frame(frame("x" * MAX_TEXT_CHARS)).text == "x" * MAX_TEXT_CHARS  # type: ignore[union-attr]
    assert str(MAX_TEXT_CHARS) in _refused(
        Code.TOO_LARGE, parse_frame, frame("x" * (MAX_TEXT_CHARS + 1))
    )


def test_a_frame_of_the_longest_message_fits_the_frame_limit_however_it_is_escaped() -> None:
    worst = json.dumps({"type": "message", "id": str(MESSAGE), "text": "😀" * MAX_TEXT_CHARS})
    assert len(worst.encode()) <= MAX_FRAME_BYTES


def test_a_start_request_needs_an_id_and_a_customer_and_takes_an_http_webhook() -> None:
    body = {"id": str(CONVERSATION), "customer": "c-42", "webhook": "https://example.com/hook"}
    request = parse_body(StartRequest, json.dumps(body).encode())
    assert (request.id, request.customer, str(request.webhook)) == (
        CONVERSATION,
        "c-42",
        "https://example.com/hook",
    )
    assert "customer" in _refused(
        Code.BAD_REQUEST, parse_body, StartRequest, json.dumps({"id": str(CONVERSATION)}).encode()
    )
    assert "webhook" in _refused(
        Code.BAD_REQUEST,
        parse_body,
        StartRequest,
        json.dumps({**body, "webhook": "ftp://x"}).encode(),
    )


def test_a_posted_message_is_held_to_the_same_text_limit() -> None:
    too_long = {"id": str(MESSAGE), "text": "y" * (MAX_TEXT_CHARS + 1)}
    _refused(Code.TOO_LARGE, parse_body, MessageRequest, json.dumps(too_long).encode())
    _refused(Code.BAD_REQUEST, parse_body, MessageRequest, b"\xff\xfe")


@pytest.mark.parametrize("text", ["-1", "1.5", "x", ""])
def test_a_read_cursor_is_a_whole_number(text: str) -> None:
    _refused(Code.BAD_REQUEST, parse_after, text)


def test_a_read_waits_zero_to_thirty_seconds() -> None:
    assert (parse_after(None), parse_wait(None)) == (0, 0.0)
    assert (parse_after("12"), parse_wait("30")) == (12, 30.0)
    for bad in ("31", "-1", "nan", "inf", "soon"):
        _refused(Code.BAD_REQUEST, parse_wait, bad)


def test_every_refusal_has_a_client_error_status_except_an_outage() -> None:
    assert set(HTTP_STATUS) == set(Code)
    for code, status in HTTP_STATUS.items():
        assert (500 <= status < 600) if code is Code.UNAVAILABLE else (400 <= status < 500)
