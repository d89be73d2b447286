"""Escalation on sentiment, the two-stage clarification and per-channel handoff policies, on the
bot runtime against a real PostgreSQL and RabbitMQ (the gateway's side played as in
test_bot.py).

The messages were chosen for what the example model 2.0.0 and VADER make of them:

| message | VADER compound | the model's top intent |
|---|---|---|
| I hate this stupid bill, how much do I have to pay | -0.84 | bill_amount, 0.999 |
| my phone screen is cracked, can you repair it | 0 | unlock_phone, 0.29 |
| I have a question about my phone | 0 | network_problem, 0.56 |
"""

from __future__ import annotations

import dataclasses
import uuid

from switchboard.api.bot import Handoff
from switchboard.dataplane.bot.sentiment import SentimentScorer
from switchboard.dataplane.conversation import State
from switchboard.dataplane.wiring import HandoffWiring, handoff_policy
from tests.integration.test_bot import (
    HANDOFF_TEXT,
    Customers,
    RunningBot,
    _ready,
    bot_wiring,
    customers,
    wait_until,
)

__all__ = ["customers"]  # the fixture, shared with test_bot.py

ANGRY = "I hate this stupid bill, how much do I have to pay"
UNSURE = "my phone screen is cracked, can you repair it"
UNSURE_TOO = "I have a question about my phone"
BILL_ANSWER = "Your current bill and its due date are on the Billing page"
UNLOCK_ANSWER = "Phones bought from us more than 3 months ago can be unlocked for free"
FALLBACK = "Sorry that did not help. Could you tell me in other words what you need?"

DEFAULT = handoff_policy(Handoff())  # no sentiment rule, no clarification
ANGER = dataclasses.replace(DEFAULT, sentiment_threshold=-0.6)
CLARIFYING = dataclasses.replace(DEFAULT, clarify=True)


async def start_bot(
    customers: Customers,
    database_uri: str,
    queue_uri: str,
    prefix: str,
    handoff: HandoffWiring,
    replica: str = "bot-0",
) -> RunningBot:
    bot = await customers.start_bot(
        database_uri, queue_uri, prefix, bot_wiring(), replica, handoff=handoff
    )
    await wait_until(f"the bot {replica} to be ready", _ready(bot))
    return bot


async def exchange(customers: Customers, conversation: uuid.UUID, text: str) -> str:
    """The customer says `text`; the bot's reply."""
    return (await customers.reply_to(await customers.say(conversation, text))).body


async def bot_state(customers: Customers, conversation: uuid.UUID) -> tuple[object, ...]:
    async with customers.store.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT state, handoff_reason, clarification, clarification_intent, last_sentiment "
            "FROM conversations WHERE id = $1",
            conversation,
        )
    assert row is not None
    return tuple(row.values())


def handoffs(bot: RunningBot, channel: str, reason: str) -> float:
    return bot.metric("switchboard_bot_handoffs_total", channel=channel, reason=reason)


def outcomes(bot: RunningBot, outcome: str) -> float:
    return bot.metric("switchboard_bot_conversations_total", model_version="2.0.0", outcome=outcome)


async def test_an_angry_customer_is_handed_off_whatever_they_ask(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    bot = await start_bot(customers, database_uri, queue_uri, prefix, HandoffWiring(ANGER, {}))
    conversation = await customers.start()
    assert (await exchange(customers, conversation, "how much is my bill")).startswith(BILL_ANSWER)
    # The model knows what they want (bill_amount, 0.999), but they are angry.
    assert (await exchange(customers, conversation, ANGRY)).startswith(HANDOFF_TEXT)

    state, reason, _, _, sentiment = await bot_state(customers, conversation)
    assert (state, reason) == (State.QUEUED.value, "negative_sentiment")
    assert sentiment == SentimentScorer().score(ANGRY)  # kept with the conversation
    await wait_until(
        "the agents tier to be nudged about its queue",
        lambda: _nudged(customers, conversation),
    )
    assert handoffs(bot, "web", "negative_sentiment") == 1
    assert outcomes(bot, "escalated") == 1
    assert bot.metric("switchboard_customer_sentiment_count", channel="web") == 2
    assert bot.metric("switchboard_customer_sentiment_bucket", channel="web", le="-0.8") == 1


async def _nudged(customers: Customers, conversation: uuid.UUID) -> bool:
    return bool(customers.delivered("agent.queue", conversation))


async def test_did_you_mean_then_yes_continues_with_the_bot_even_after_a_restart(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    clarifying = HandoffWiring(CLARIFYING, {})
    first = await start_bot(customers, database_uri, queue_uri, prefix, clarifying)
    conversation = await customers.start()
    asked = await exchange(customers, conversation, UNSURE)
    assert asked == "Did you mean unlocking your phone? Please answer yes or no."
    assert (await bot_state(customers, conversation))[:4] == (
        State.BOT.value,
        None,
        "confirm",
        "unlock_phone",
    )

    # The question is kept in the store: another replica takes the answer.
    await first.stop()
    customers.bots.remove(first)
    second = await start_bot(
        customers, database_uri, queue_uri, prefix, clarifying, replica="bot-1"
    )
    assert (await exchange(customers, conversation, "yes")).startswith(UNLOCK_ANSWER)
    assert (await bot_state(customers, conversation))[:4] == (State.BOT.value, None, None, None)
    assert (await exchange(customers, conversation, "thanks, bye")) == (
        "Glad I could help. Goodbye!"
    )

    # Clarified and contained: no arrival for the agents.
    assert (await customers.conversation(conversation)).state is State.RESOLVED
    assert outcomes(second, "contained") == 1
    assert outcomes(second, "escalated") == 0
    assert not customers.delivered("agent.queue", conversation)


async def test_did_you_mean_then_no_asks_to_rephrase_and_a_second_miss_hands_off(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    bot = await start_bot(customers, database_uri, queue_uri, prefix, HandoffWiring(CLARIFYING, {}))
    conversation = await customers.start()
    asked = await exchange(customers, conversation, UNSURE_TOO)
    assert asked == "Did you mean a problem with the network? Please answer yes or no."
    assert await exchange(customers, conversation, "no") == FALLBACK
    assert (await bot_state(customers, conversation))[:3] == (
        State.BOT.value,
        None,
        "rephrase",
    )
    assert outcomes(bot, "escalated") == 0
    assert (await exchange(customers, conversation, UNSURE)).startswith(HANDOFF_TEXT)

    state, reason, clarification, _, _ = await bot_state(customers, conversation)
    assert (state, reason, clarification) == (State.QUEUED.value, "low_confidence", None)
    assert handoffs(bot, "web", "low_confidence") == 1
    assert outcomes(bot, "escalated") == 1
    async with customers.store.pool.acquire() as connection:
        actions = await connection.fetch(
            "SELECT data->>'action' AS action FROM events "
            "WHERE conversation_id = $1 AND type = 'bot_answered' ORDER BY id",
            conversation,
        )
    assert [row["action"] for row in actions] == ["confirm", "rephrase", "hand_off"]


async def test_a_channels_override_applies_to_that_channel_only(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    # Anger hands off on the phone channel only; web keeps the default.
    bot = await start_bot(
        customers, database_uri, queue_uri, prefix, HandoffWiring(DEFAULT, {"phone": ANGER})
    )
    web = await customers.start(channel="web")
    phone = await customers.start(channel="phone")

    assert (await exchange(customers, web, ANGRY)).startswith(BILL_ANSWER)
    assert (await exchange(customers, phone, ANGRY)).startswith(HANDOFF_TEXT)

    assert (await customers.conversation(web)).state is State.BOT
    assert (await bot_state(customers, phone))[:2] == (State.QUEUED.value, "negative_sentiment")
    assert handoffs(bot, "phone", "negative_sentiment") == 1
    assert handoffs(bot, "web", "negative_sentiment") == 0
    for channel in ("web", "phone"):
        assert bot.metric("switchboard_customer_sentiment_count", channel=channel) == 1
