"""Quality figures on the real data plane: gateway processes (`switchboard gateway`) against the
real PostgreSQL and RabbitMQ count resolutions, repeat contacts across channels within the
first-contact-resolution window, and how long abandoning customers waited; with a
`switchboard agents` process asking the survey on resolve, the gateway records and counts the
customer's answers. The bot is the gateway tests' played bot (it answers every turn as the bot
role stores its answers, and hands off as it does).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from switchboard.api.quality import Survey
from switchboard.dataplane import quality
from switchboard.dataplane.store import Store
from tests.integration import test_agents as agents_tests
from tests.integration import test_gateway as gateway_tests
from tests.integration.test_agents import TOKEN as AGENTS_TOKEN
from tests.integration.test_agents import Center, Replica
from tests.integration.test_gateway import (
    Gateway,
    PlayedBot,
    _api,
    _hand_to_agent,
)
from tests.integration.test_provider_channel import deliver

# The gateway tests' fixtures: the gateway process, the played bot, an HTTP client.
bot = gateway_tests.bot
http = gateway_tests.http
routing_file = gateway_tests.routing_file
start_gateway = gateway_tests.start_gateway
# The agents tier's tests' store, bus and `switchboard agents` processes.
center = agents_tests.center

WINDOW_SECONDS = 3.0


async def logged_contacts(store: Store) -> list[quality.Contact]:
    """The contacts the store's event log tells of, as the figures module reads them."""
    async with store.pool.acquire() as connection:
        conversations = await connection.fetch("SELECT id, customer, channel FROM conversations")
        events = await connection.fetch("SELECT conversation_id, type, at, data FROM events")
    identities = {
        row["id"]: quality.Identity(row["customer"], row["channel"]) for row in conversations
    }
    logged = [
        quality.Event(row["conversation_id"], row["type"], row["at"], row["data"]) for row in events
    ]
    return quality.contacts(identities, logged)


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
    wired = {"SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS": f"{WINDOW_SECONDS:g}"}
    partners = await start_gateway("api", channel="partners", **wired)
    support = await start_gateway("api", channel="support", **wired)

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

    # The figure from the event log agrees, every resolved contact's window judged: cust-1's
    # first was repeated; cust-2's two were not; the guests are not judged.
    contacts = await logged_contacts(bot.store)
    latest = max(contact.arrived for contact in contacts)
    window = timedelta(seconds=WINDOW_SECONDS)
    judged = quality.resolution(contacts, window=window, now=latest + window)
    assert (judged.resolved, judged.repeated) == (3, 1)


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
    # The event log tells the same: two bot abandons, one of them within a second.
    figures = quality.tier_figures(
        await logged_contacts(bot.store), "bot", threshold=20, short_abandon=1.0
    )
    assert (figures.offered, figures.abandoned, figures.short_abandoned) == (2, 2, 1)


# --- the survey on resolve ------------------------------------------------------------------

SURVEY = Survey(enabled=True, question="Rate us 1 to 5", nps=True, nps_question="0 to 10?")


@pytest.fixture
async def workspace(center: Center) -> Replica:
    """A `switchboard agents` process that asks the survey on resolve."""
    return await center.replica(SWITCHBOARD_QUALITY_SURVEY=SURVEY.model_dump_json(by_alias=True))


async def resolve_by_an_agent(
    http: aiohttp.ClientSession, workspace: Replica, conversation: uuid.UUID, channel_type: str
) -> None:
    """Ann signs in, accepts the conversation the bot handed off, and resolves it."""
    agent = f"{workspace.url}/api/v1/agents/ann"
    auth = {"Authorization": f"Bearer {AGENTS_TOKEN}"}  # the tier's tests' token

    async def call(method: str, path: str, body: Any = None) -> Any:
        async with http.request(method, agent + path, json=body, headers=auth) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    capacity = {channel_type: 1}
    await call("POST", "/sign-in", {"name": "Ann", "capacity": capacity, "available": True})
    offers = await call("GET", "/offers?wait=15")
    assert [offer["conversation"] for offer in offers["offers"]] == [str(conversation)]
    await call("POST", f"/conversations/{conversation}/accept")
    await call("POST", f"/conversations/{conversation}/resolve")


async def test_a_survey_answer_is_recorded_and_counted_and_not_a_new_contact(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    workspace: Replica,
    http: aiohttp.ClientSession,
) -> None:
    gateway = await start_gateway("api", channel="partners")
    conversation = await contact(http, gateway, "cust-5", leave=False)
    await _hand_to_agent(bot.store, conversation, agent=None)  # the bot hands it off

    await resolve_by_an_agent(http, workspace, conversation, "api")

    path = f"/conversations/{conversation}/messages"

    async def read_after(seq: int) -> list[tuple[str, str]]:
        status, read = await _api(http, gateway, "GET", f"{path}?after={seq}")
        assert status == 200 and read["state"] == "resolved"
        return [(m["sender"], m["text"]) for m in read["messages"]]

    # The customer read up to the bot's answer (seq 2): then the agent came, left, and asked.
    assert await read_after(2) == [
        ("system", "Ann joined"),
        ("system", "Ann resolved the conversation"),
        ("system", SURVEY.question),
    ]

    async def say(text: str, message_id: uuid.UUID | None = None) -> tuple[int, Any]:
        body = {"id": str(message_id or uuid.uuid4()), "text": text}
        return await _api(http, gateway, "POST", path, body)

    # Words are no answer: refused as any message to an ended conversation, the question open.
    assert (await say("I still need help"))[0] == 409
    rating = uuid.uuid4()
    assert await say("5/5", rating) == (200, {"id": str(rating), "seq": 6})
    assert await say("5/5", rating) == (200, {"id": str(rating), "seq": 6})  # a resend: the same
    assert await read_after(6) == [("system", SURVEY.nps_question)]
    assert (await say("9"))[0] == 200
    # Both are answered: what follows is a message to an ended conversation, refused as ever.
    assert (await say("10"))[0] == 409
    assert (await say("thanks, bye"))[0] == 409

    counted = "switchboard_survey_responses_total"
    assert await gateway.metric(counted, channel="partners", survey="csat", score="5") == 1
    assert await gateway.metric(counted, channel="partners", survey="nps", score="9") == 1
    # Not a new contact: one arrival, the conversation stays resolved, nothing went to the bot.
    assert await gateway.metric("switchboard_contacts_arrived_total", channel="partners") == 1
    assert len(bot.turns) == 1
    async with bot.store.pool.acquire() as connection:
        answers = await connection.fetch(
            "SELECT data FROM events WHERE conversation_id = $1 AND type = 'survey_answered' "
            "ORDER BY id",
            conversation,
        )
    assert [row["data"] for row in answers] == [
        {"survey": "csat", "score": 5, "seq": 6},
        {"survey": "nps", "score": 9, "seq": 8},
    ]


async def surveyed_by_text(
    http: aiohttp.ClientSession,
    gateway: Gateway,
    bot: PlayedBot,
    workspace: Replica,
    customer: str,
) -> uuid.UUID:
    """A customer texts, the bot hands them to Ann, who resolves: the survey is asked."""
    status, first = await deliver(http, gateway, {"id": "SM1", "from": customer, "text": "hi"})
    assert status == 200, first
    conversation = uuid.UUID(first["conversation"])
    await _hand_to_agent(bot.store, conversation, agent=None)
    await resolve_by_an_agent(http, workspace, conversation, "sms")
    return conversation


async def test_on_a_provider_channel_the_next_message_answers_the_survey_if_it_is_a_score(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    workspace: Replica,
    http: aiohttp.ClientSession,
) -> None:
    gateway = await start_gateway("sms", channel="texts")
    customer = "+15550100"
    conversation = await surveyed_by_text(http, gateway, bot, workspace, customer)

    # Ann joined (3), resolved (4), asked (5): the customer's "4" answers in that conversation.
    status, answer = await deliver(http, gateway, {"id": "SM2", "from": customer, "text": "4"})
    assert (status, answer["conversation"], answer["seq"]) == (200, str(conversation), 6)
    assert (
        await gateway.metric(
            "switchboard_survey_responses_total", channel="texts", survey="csat", score="4"
        )
        == 1
    )
    # The NPS question follows; words are no answer to it but a new contact.
    status, later = await deliver(
        http, gateway, {"id": "SM3", "from": customer, "text": "my parcel again"}
    )
    assert status == 200 and later["conversation"] != str(conversation)
    assert await gateway.metric("switchboard_contacts_arrived_total", channel="texts") == 2


async def test_a_survey_not_answered_in_time_is_closed(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    workspace: Replica,
    http: aiohttp.ClientSession,
) -> None:
    gateway = await start_gateway("sms", channel="texts")
    customer = "+15550199"
    conversation = await surveyed_by_text(http, gateway, bot, workspace, customer)
    async with bot.store.pool.acquire() as connection:
        left = await connection.fetchval(
            "SELECT survey_until - ended_at FROM conversations WHERE id = $1", conversation
        )
        assert left == timedelta(seconds=SURVEY.answer_within_seconds) == timedelta(hours=24)
        # A day goes by.
        await connection.execute(
            "UPDATE conversations SET survey_until = now() - interval '1 second' WHERE id = $1",
            conversation,
        )

    # The customer's "4" now is no answer: a new contact, and nothing is counted as a rating.
    status, later = await deliver(http, gateway, {"id": "SM2", "from": customer, "text": "4"})
    assert status == 200 and later["conversation"] != str(conversation)
    assert await gateway.metric("switchboard_contacts_arrived_total", channel="texts") == 2
    rated = "switchboard_survey_responses_total"
    assert await gateway.metric(rated, channel="texts", survey="csat", score="4") == 0
