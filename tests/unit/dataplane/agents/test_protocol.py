"""What agents send is checked before anything is stored, with a one-line reason."""

import uuid

import pytest

from switchboard.dataplane.agents.protocol import (
    MAX_TEXT,
    Malformed,
    Reply,
    SendFrame,
    SignInFrame,
    authorized,
    parse_body,
    parse_frame,
)

CONVERSATION = "2b1f1d4e-7c56-4a43-9f3e-0a1c2d3e4f50"
MESSAGE = "9d0e8b5a-1b2c-4d3e-8f4a-5b6c7d8e9f01"


def test_a_sign_in_frame_names_the_agent_and_their_capacity_per_channel_type() -> None:
    frame = parse_frame(
        '{"type": "sign_in", "token": "t", "agent": "alice@eu", "name": "  Alice  ",'
        ' "capacity": {"webchat": 3, "voice": 1}}'
    )
    assert isinstance(frame, SignInFrame)
    assert (frame.agent, frame.name, frame.capacity) == (
        "alice@eu",
        "Alice",
        {"webchat": 3, "voice": 1},
    )
    assert frame.available is None  # absent: availability stays what it was
    assert frame.skills == {}  # absent: no skills, so no queue that needs one


def test_a_sign_in_declares_the_agent_s_skills_with_their_levels() -> None:
    frame = parse_frame(
        '{"type": "sign_in", "token": "t", "agent": "a", "name": "A",'
        ' "capacity": {"webchat": 1}, "skills": {"billing": 3, "spanish": 10}}'
    )
    assert isinstance(frame, SignInFrame)
    assert frame.skills == {"billing": 3, "spanish": 10}


def test_a_reply_carries_the_id_the_client_chose() -> None:
    frame = parse_frame(
        f'{{"type": "send", "conversation": "{CONVERSATION}", "id": "{MESSAGE}", "text": "Hi"}}'
    )
    assert isinstance(frame, SendFrame)
    assert (frame.conversation, frame.id) == (uuid.UUID(CONVERSATION), uuid.UUID(MESSAGE))


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("hello", "not JSON"),
        ('["sign_in"]', "expected a JSON object"),
        ('{"type": "dance"}', "does not match any of the expected tags"),
        ('{"conversation": "x"}', "Unable to extract tag"),
        ('{"type": "accept", "conversation": "not-a-uuid"}', "accept.conversation"),
        ('{"type": "accept", "conversation": "' + CONVERSATION + '", "x": 1}', "accept.x"),
        ('{"type": "resume", "conversation": "' + CONVERSATION + '", "after": -1}', "after"),
        ('{"type": "availability", "available": "maybe"}', "availability.available"),
        (
            '{"type": "sign_in", "token": "t", "agent": "a b", "name": "A",'
            ' "capacity": {"webchat": 1}}',
            "sign_in.agent",
        ),
        (
            '{"type": "sign_in", "token": "t", "agent": "a", "name": "A", "capacity": {"fax": 1}}',
            "sign_in.capacity.fax",
        ),
        (
            '{"type": "sign_in", "token": "t", "agent": "a", "name": "A",'
            ' "capacity": {"webchat": 51}}',
            "less than or equal to 50",
        ),
        (
            '{"type": "sign_in", "token": "t", "agent": "a", "name": "A", "capacity": {}}',
            "sign_in.capacity",
        ),
        (
            '{"type": "sign_in", "token": "t", "agent": "a", "name": "A",'
            ' "capacity": {"webchat": 1}, "skills": {"billing": 11}}',
            "sign_in.skills.billing",
        ),
        (
            '{"type": "sign_in", "token": "t", "agent": "a", "name": "A",'
            ' "capacity": {"webchat": 1}, "skills": {"Billing!": 1}}',
            "sign_in.skills",
        ),
        (
            '{"type": "sign_in", "token": "t", "agent": "a", "name": "   ",'
            ' "capacity": {"webchat": 1}}',
            "sign_in.name",
        ),
        (
            f'{{"type": "send", "conversation": "{CONVERSATION}", "id": "{MESSAGE}",'
            ' "text": " \\n "}',
            "send.text: must not be blank",
        ),
    ],
)
def test_a_malformed_frame_is_refused_with_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(Malformed, match=complaint):
        parse_frame(text)


def test_a_reply_longer_than_the_limit_is_refused() -> None:
    body = f'{{"id": "{MESSAGE}", "text": "{"x" * MAX_TEXT}"}}'.encode()
    assert len(parse_body(Reply, body).text) == MAX_TEXT
    too_long = f'{{"id": "{MESSAGE}", "text": "{"x" * (MAX_TEXT + 1)}"}}'.encode()
    with pytest.raises(Malformed, match="text: String should have at most 4000 characters"):
        parse_body(Reply, too_long)


def test_a_body_that_is_not_utf8_text_is_refused() -> None:
    with pytest.raises(Malformed, match="not UTF-8"):
        parse_body(Reply, b"\xff\xfe{}")


def test_only_the_exact_workspace_token_is_accepted() -> None:
    assert authorized("sesame", "sesame")
    for given in (None, "", "sesam", "sesame ", "SESAME", "sesame-and-more"):
        assert not authorized(given, "sesame")
