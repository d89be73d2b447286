"""A provider's message is read from its documented body, keeps its id on every retry, and our
replies name whom to send them to."""

import dataclasses
import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from switchboard.dataplane.conversation import State
from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway.conversations import unanswered
from switchboard.dataplane.gateway.protocol import (
    MAX_TEXT_CHARS,
    Code,
    InboundMessage,
    ProtocolError,
    parse_body,
)
from switchboard.dataplane.gateway.provider import (
    ProviderSends,
    message_id,
    outbound_body,
)
from switchboard.dataplane.gateway.signature import verify
from switchboard.dataplane.store import Conversation

AT = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def _parsed(document: object) -> InboundMessage:
    return parse_body(InboundMessage, json.dumps(document).encode())


def _refused(document: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        _parsed(document)
    return caught.value


def test_the_documented_body_is_read() -> None:
    inbound = _parsed({"id": "SM42", "from": " +15550100 ", "text": "where is my order?"})
    assert (inbound.id, inbound.sender, inbound.text) == ("SM42", "+15550100", "where is my order?")
    # fields a provider adds are ignored
    assert _parsed({"id": "SM42", "from": "+1", "text": "hi", "timestamp": 1}).id == "SM42"


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"from": "+1", "text": "hi"}, "id"),
        ({"id": "SM1", "text": "hi"}, "from"),
        ({"id": "SM1", "from": "+1"}, "text"),
        ({"id": "", "from": "+1", "text": "hi"}, "id"),
        ({"id": "SM1", "from": "   ", "text": "hi"}, "from"),
        ({"id": "x" * 201, "from": "+1", "text": "hi"}, "id"),
    ],
)
def test_a_body_without_what_it_needs_is_a_bad_request(document: object, where: str) -> None:
    problem = _refused(document)
    assert problem.code is Code.BAD_REQUEST and problem.message.startswith(where)


def test_an_empty_or_oversized_text_is_refused_like_any_customer_message() -> None:
    assert _refused({"id": "SM1", "from": "+1", "text": "  "}).code is Code.BAD_REQUEST
    long = {"id": "SM1", "from": "+1", "text": "a" * (MAX_TEXT_CHARS + 1)}
    assert _refused(long).code is Code.TOO_LARGE
    assert _refused(["not", "an", "object"]).code is Code.BAD_REQUEST


def test_a_provider_message_keeps_one_id_per_channel() -> None:
    first = message_id("texts", "SM42")
    assert message_id("texts", "SM42") == first
    assert first.version == 5
    assert message_id("texts", "SM43") != first
    assert message_id("wa", "SM42") != first  # two providers may reuse each other's ids


CONVERSATION_ID, REPLY = uuid.uuid4(), uuid.uuid4()


def _ended_sms_conversation() -> tuple[Conversation, Delivery]:
    conversation = Conversation(
        id=CONVERSATION_ID,
        channel="texts",
        channel_type="sms",
        customer="+15550100",
        state=State.RESOLVED,
        track="stable",
        model_version="1",
        admitted=True,
        next_seq=2,
        bot_cursor=1,
        failed_turns=0,
        agent_id=None,
        attributes={},
        webhook=None,
        created_at=AT,
        admitted_at=AT,
        bot_answered_at=AT,
        queued_at=None,
        accepted_at=None,
    )
    delivery = Delivery(
        conversation=CONVERSATION_ID,
        channel="texts",
        seq=2,
        id=REPLY,
        sender="bot",
        author="Assistant",
        text="Goodbye!",
        at=AT.isoformat(),
        ended=State.RESOLVED,
    )
    return conversation, delivery


def test_a_reply_is_the_delivery_addressed_to_the_customer() -> None:
    conversation, delivery = _ended_sms_conversation()
    assert json.loads(outbound_body(conversation, delivery)) == {
        "to": "+15550100",
        "conversation": str(CONVERSATION_ID),
        "channel": "texts",
        "seq": 2,
        "id": str(REPLY),
        "sender": "bot",
        "author": "Assistant",
        "text": "Goodbye!",
        "at": "2026-11-30T18:00:00+00:00",
        "ended": "resolved",
    }


def test_a_reply_goes_to_the_provider_signed_as_its_webhooks_are_checked() -> None:
    conversation, delivery = _ended_sms_conversation()
    post = ProviderSends("provider-key", "https://sms.example/out").post(conversation, delivery)
    assert post is not None and post.url == "https://sms.example/out"
    assert post.body == outbound_body(conversation, delivery)
    verify("provider-key", post.body, post.headers, time.time())
    assert ProviderSends("provider-key", None).post(conversation, delivery) is None


def test_a_replayed_message_is_handed_on_again_only_while_the_bot_has_not_answered_it() -> None:
    conversation, _ = _ended_sms_conversation()
    with_bot = dataclasses.replace(conversation, state=State.BOT, bot_cursor=3)
    assert unanswered(with_bot, 4)
    assert not unanswered(with_bot, 3)  # answered: the bot's cursor passed it
    assert not unanswered(dataclasses.replace(with_bot, state=State.AGENT), 4)
    assert not unanswered(conversation, 4)  # ended
