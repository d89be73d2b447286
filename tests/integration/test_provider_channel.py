"""The gateway of `sms` and `whatsapp` channels as a real process against real PostgreSQL and
RabbitMQ, with a provider played by a local HTTP server whose every request is checked for its
signature.

The signatures here are computed from the documented recipe (docs/dataplane.md, "provider
protocol"), not with the gateway's code.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from switchboard.dataplane.conversation import reply_id
from tests.integration import test_gateway as gateway_tests
from tests.integration.test_gateway import TOKEN, Gateway, PlayedBot, Receiver, _at_least, wait_for

# The gateway tests' fixtures: the gateway process, the played bot, an HTTP client, and a
# webhook receiver (here: the provider).
bot = gateway_tests.bot
http = gateway_tests.http
routing_file = gateway_tests.routing_file
start_gateway = gateway_tests.start_gateway
receiver = gateway_tests.receiver

MESSAGES = "/provider/v1/messages"


def sign(body: bytes, timestamp: int, token: str = TOKEN) -> dict[str, str]:
    mac = hmac.new(token.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "X-Switchboard-Timestamp": str(timestamp),
        "X-Switchboard-Signature": f"sha256={mac.hexdigest()}",
        "Content-Type": "application/json",
    }


def verified(received: list[tuple[dict[str, str], bytes]]) -> list[dict[str, Any]]:
    """What the provider was sent, each checked as a provider checks it: signed with the
    channel's token over its timestamp and body, and signed just now."""
    bodies = []
    for headers, body in received:
        stamp = int(headers["X-Switchboard-Timestamp"])
        assert headers["X-Switchboard-Signature"] == sign(body, stamp)["X-Switchboard-Signature"]
        assert abs(time.time() - stamp) < 60
        bodies.append(json.loads(body))
    return bodies


async def deliver(
    http: aiohttp.ClientSession,
    gateway: Gateway,
    document: dict[str, Any],
    *,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POSTs a provider webhook, signed now unless `headers` say otherwise."""
    body = json.dumps(document).encode()
    signed = sign(body, int(time.time()) if timestamp is None else timestamp)
    async with http.post(
        gateway.url + MESSAGES, data=body, headers=signed if headers is None else headers
    ) as response:
        return response.status, await response.json()


async def _rows(bot: PlayedBot, sql: str) -> list[Any]:
    async with bot.store.pool.acquire() as connection:
        return list(await connection.fetch(sql))


async def test_a_signed_message_gets_the_bots_reply_at_the_provider_in_the_customers_conversation(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    http: aiohttp.ClientSession,
    receiver: tuple[Receiver, str],
) -> None:
    provider, url = receiver
    gateway = await start_gateway("sms", channel="texts", SWITCHBOARD_PROVIDER_URL=url)
    status, taken = await deliver(
        http, gateway, {"id": "SM1", "from": "+15550100", "text": "where is my parcel?"}
    )
    assert status == 200, taken
    assert taken["seq"] == 1
    await wait_for("the reply at the provider", lambda: _at_least(provider.received, 1))
    reply = verified(provider.received)[0]
    assert reply["to"] == "+15550100"
    assert (reply["conversation"], reply["sender"], reply["seq"]) == (
        taken["conversation"],
        "bot",
        2,
    )
    assert reply["id"] == str(reply_id(uuid.UUID(taken["id"])))
    assert reply["text"] == "you said: where is my parcel?"

    # The same customer's next message continues their open conversation; another customer
    # starts their own.
    status, again = await deliver(
        http, gateway, {"id": "SM2", "from": "+15550100", "text": "it is late"}
    )
    assert (status, again["conversation"], again["seq"]) == (200, taken["conversation"], 3)
    status, other = await deliver(http, gateway, {"id": "SM3", "from": "@someone", "text": "hi"})
    assert status == 200 and other["conversation"] != taken["conversation"]
    rows = await _rows(bot, "SELECT channel, channel_type, customer FROM conversations")
    assert sorted(tuple(row) for row in rows) == [
        ("texts", "sms", "+15550100"),
        ("texts", "sms", "@someone"),
    ]

    # The provider fails once: the reply comes again (signed afresh) and is then acknowledged.
    await wait_for("the other replies", lambda: _at_least(provider.received, 3))
    provider.statuses = [503]
    await deliver(http, gateway, {"id": "SM4", "from": "@someone", "text": "anyone?"})
    await wait_for("the retried reply", lambda: _at_least(provider.received, 5), within=15)
    sent = verified(provider.received)
    assert sent[3] == sent[4] and sent[4]["text"] == "you said: anyone?"

    # Once their conversation ended, the customer's next message starts a new one.
    async with bot.store.pool.acquire() as connection:
        await connection.execute(
            "UPDATE conversations SET state = 'resolved', ended_at = now() WHERE id = $1",
            uuid.UUID(taken["conversation"]),
        )
    status, later = await deliver(
        http, gateway, {"id": "SM5", "from": "+15550100", "text": "me again"}
    )
    assert status == 200 and later["conversation"] not in (
        taken["conversation"],
        other["conversation"],
    )
    assert later["seq"] == 1


async def test_unsigned_tampered_stale_and_replayed_requests_are_refused_and_store_nothing(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    http: aiohttp.ClientSession,
    receiver: tuple[Receiver, str],
) -> None:
    provider, url = receiver
    gateway = await start_gateway("whatsapp", channel="wa", SWITCHBOARD_PROVIDER_URL=url)
    message = {"id": "wamid.1", "from": "+4915112345678", "text": "hallo"}
    body = json.dumps(message).encode()
    now = int(time.time())
    tampered = body.replace(b"hallo", b"hullo")
    refusals: list[tuple[str, dict[str, str], bytes, int, str]] = [
        ("unsigned", {"Content-Type": "application/json"}, body, 401, "not signed"),
        ("tampered", sign(body, now), tampered, 401, "does not match"),
        ("another key", sign(body, now, "not-the-token"), body, 401, "does not match"),
        ("stale", sign(body, now - 301), body, 401, "stale"),
        ("from the future", sign(body, now + 400), body, 401, "stale"),
        ("not JSON", sign(b"{", now), b"{", 400, "not JSON"),
        ("no sender", sign(b'{"id":"x","text":"t"}', now), b'{"id":"x","text":"t"}', 400, "from"),
    ]
    for what, headers, sent, status, says in refusals:
        async with http.post(gateway.url + MESSAGES, data=sent, headers=headers) as response:
            answer = await response.json()
            assert response.status == status, (what, answer)
            assert says in answer["message"], (what, answer)
            if status == 401:
                assert answer["code"] == "unauthorized"
                assert response.headers["WWW-Authenticate"] == "X-Switchboard-Signature"
    assert await _rows(bot, "SELECT id FROM conversations") == []
    assert await _rows(bot, "SELECT id FROM messages") == []

    # The genuine request is taken once; sent again (a replay, or the provider's retry), it is
    # refused as replayed, with a fresh signature or the same one.
    status, taken = await deliver(http, gateway, message, timestamp=now)
    assert status == 200, taken
    await wait_for("the reply at the provider", lambda: _at_least(provider.received, 1))
    for timestamp in (now, int(time.time())):
        status, replayed = await deliver(http, gateway, message, timestamp=timestamp)
        assert (status, replayed["code"]) == (409, "replayed"), replayed
        assert "wamid.1" in replayed["message"]
    await asyncio.sleep(1.0)  # time for a second reply, if there were one
    assert len(await _rows(bot, "SELECT id FROM conversations")) == 1
    assert len(await _rows(bot, "SELECT id FROM messages WHERE sender = 'customer'")) == 1
    assert len(bot.turns) == 1
    assert [reply["to"] for reply in verified(provider.received)] == ["+4915112345678"]
