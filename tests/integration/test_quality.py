"""Quality figures on the real data plane: gateway processes (`switchboard gateway`) against the
real PostgreSQL and RabbitMQ count resolutions, repeat contacts across channels within the
first-contact-resolution window, and how long abandoning customers waited. The bot is the
gateway tests' played bot (it answers every turn as the bot role stores its answers).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import aiohttp

from tests.integration import test_gateway as gateway_tests
from tests.integration.test_gateway import Gateway, PlayedBot, _api

# The gateway tests' fixtures: the gateway process, the played bot, an HTTP client.
bot = gateway_tests.bot
http = gateway_tests.http
routing_file = gateway_tests.routing_file
start_gateway = gateway_tests.start_gateway

WINDOW_SECONDS = 3.0


async def contact(
    http: aiohttp.ClientSession, gateway: Gateway, customer: str, *, leave: bool = True
) -> uuid.UUID:
    """An api customer starts a conversation, gets the bot's answer, and (`leave`) leaves
    satisfied: resolved, contained."""
    conversation = uuid.uuid4()
    start = {"id": str(conversation), "customer": customer}
    assert (await _api(http, gateway, "POST", "/conversations", start))[0] == 201
    path = f"/conversations/{conversation}/messages"
    await _api(http, gateway, "POST", path, {"id": str(uuid.uuid4()), "text": "my bill?"})
    status, read = await _api(http, gateway, "GET", path + "?after=1&wait=10")
    assert status == 200 and read["messages"], read
    if leave:
        left = await _api(http, gateway, "DELETE", f"/conversations/{conversation}")
        assert left[1]["state"] == "resolved"
    return conversation


async def test_a_customer_back_within_the_window_on_any_channel_is_a_repeat_contact_counted_once(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    window = {"SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS": f"{WINDOW_SECONDS:g}"}
    partners = await start_gateway("api", channel="partners", **window)
    support = await start_gateway("api", channel="support", **window)

    first = await contact(http, partners, "cust-1")
    await contact(http, partners, "cust-2")
    assert await partners.metric("switchboard_contacts_resolved_total", channel="partners") == 2
    # cust-1 comes back at once on another channel: their resolved contact was not resolved at
    # first contact. It counts under the channel of the contact it repeats, once, however often
    # they come back.
    second = await contact(http, support, "cust-1", leave=False)
    await contact(http, support, "cust-1", leave=False)
    assert await support.metric("switchboard_repeat_contacts_total", channel="partners") == 1
    async with bot.store.pool.acquire() as connection:
        repeated_by = await connection.fetchval(
            "SELECT repeated_by FROM conversations WHERE id = $1", first
        )
    assert repeated_by == second
    # cust-2 comes back after the window: a new matter.
    await asyncio.sleep(WINDOW_SECONDS + 0.5)
    await contact(http, support, "cust-2")
    assert await support.metric("switchboard_repeat_contacts_total", channel="partners") == 1
    # Guests cannot be told apart: a guest who comes back repeats nothing.
    await contact(http, partners, "guest")
    await contact(http, partners, "guest")
    assert await partners.metric("switchboard_repeat_contacts_total", channel="partners") == 0
    assert await partners.metric("switchboard_contacts_resolved_total", channel="partners") == 4


async def test_an_abandon_observes_the_wait_so_short_abandons_can_be_told_apart(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway("api", channel="partners")
    bot.answering.clear()  # nobody answers: every customer abandons the bot's queue
    for waits in (0.2, 2.5):
        conversation = uuid.uuid4()
        start = {"id": str(conversation), "customer": "c"}
        await _api(http, gateway, "POST", "/conversations", start)
        await asyncio.sleep(waits)
        left = await _api(http, gateway, "DELETE", f"/conversations/{conversation}")
        assert left[1]["state"] == "abandoned"
    labels = {"channel": "partners", "handler": "bot"}
    wait = "switchboard_abandon_wait_seconds"
    assert await gateway.metric(f"{wait}_count", **labels) == 2
    assert await gateway.metric(f"{wait}_bucket", le="1.0", **labels) == 1  # the short one
    assert await gateway.metric(f"{wait}_bucket", le="5.0", **labels) == 2
    assert 2.7 <= await gateway.metric(f"{wait}_sum", **labels) < 4
