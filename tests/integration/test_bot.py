"""The bot runtime against a real PostgreSQL and RabbitMQ.

The test plays the gateway the way it works: it starts conversations and stores customer
messages with the Store, publishes each CustomerTurn to the queue `route` names, and watches the
deliveries exchange and the store for what the bot answers. The bot runs in-process as its role
(several replicas when a test needs them), or as `switchboard bot` when the test is about the
process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from switchboard.api.bot import Handoff
from switchboard.contract import ContractMetrics
from switchboard.dataplane.bot.role import BotRole
from switchboard.dataplane.bus import Bus
from switchboard.dataplane.conversation import Route, State, Step, reply_id, route
from switchboard.dataplane.envelope import CustomerTurn
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Conversation, Message, Store, move
from switchboard.dataplane.topology import Topology
from switchboard.dataplane.wiring import (
    BotWiring,
    HandoffWiring,
    ServiceLevel,
    Wiring,
    handoff_policy,
)

CONTACT_CENTER = "acme"
TRACK = "stable"
REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "examples" / "models" / "telco-support-2.0.0.yaml"
MODEL_NAME, MODEL_VERSION = "telco-support", "2.0.0"
HANDOFF = HandoffWiring(handoff_policy(Handoff()), {})  # threshold 0.6, margin 0.1, 2 turns
HANDOFF_TEXT = "I'm passing you to a colleague."  # the start of the model's messages.handoff

# --- waiting --------------------------------------------------------------------------------


async def wait_until(what: str, check: Callable[[], Awaitable[Any]], within: float = 15.0) -> Any:
    """Polls `check` until it returns something truthy; fails saying what it waited for."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


# --- the bot and the customers' side ---------------------------------------------------------


def wiring(database_uri: str, queue_uri: str, prefix: str, replica: str) -> Wiring:
    return Wiring(
        contact_center=CONTACT_CENTER,
        namespace=prefix,
        http_port=0,
        metrics_port=0,
        queue_uri=queue_uri,
        database_uri=database_uri,
        service_level=ServiceLevel(target=0.8, answer_within_seconds=20, max_abandon_rate=0.05),
        routing_file=None,
        replica=replica,
    )


def bot_wiring(*, concurrency: int = 10, uri: str = f"file://{MODEL}", **changes: Any) -> BotWiring:
    values: dict[str, Any] = {
        "model_name": MODEL_NAME,
        "model_version": MODEL_VERSION,
        "model_uri": uri,
        "concurrency": concurrency,
        "track": TRACK,
        "model_dir": None,
    }
    return BotWiring(**(values | changes))


@dataclass
class RunningBot:
    role: BotRole
    runtime: Runtime
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float:
        labels = {"contact_center": CONTACT_CENTER, **labels}
        return self.registry.get_sample_value(name, labels) or 0.0

    async def stop(self) -> None:
        await self.role.stop()
        await self.runtime.bus.close()
        await self.runtime.store.close()


@dataclass
class Customers:
    """The gateway's side: conversations, customer messages, and what the bot published."""

    store: Store
    bus: Bus
    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    bots: list[RunningBot] = field(default_factory=list)

    async def start_bot(
        self,
        database_uri: str,
        queue_uri: str,
        prefix: str,
        bot: BotWiring,
        replica: str,
        handoff: HandoffWiring = HANDOFF,
    ) -> RunningBot:
        store = await Store.connect(database_uri)
        bus = await Bus.connect(queue_uri, Topology(f"{prefix}.{CONTACT_CENTER}"))
        registry = CollectorRegistry()
        runtime = Runtime(
            wiring(database_uri, queue_uri, prefix, replica),
            store,
            bus,
            ContractMetrics(CONTACT_CENTER, registry),
            registry,
        )
        role = BotRole(bot, handoff)
        await role.start(runtime)
        running = RunningBot(role, runtime, registry)
        self.bots.append(running)
        return running

    async def start(self, model_version: str = MODEL_VERSION, channel: str = "web") -> uuid.UUID:
        conversation, _ = await self.store.start_conversation(
            uuid.uuid4(),
            channel=channel,
            channel_type="webchat",
            customer=f"customer-{uuid.uuid4().hex[:6]}",
            track=TRACK,
            model_version=model_version,
        )
        return conversation.id

    async def store_message(self, conversation_id: uuid.UUID, text: str) -> tuple[Message, Route]:
        stored = await self.store.add_message(
            conversation_id, uuid.uuid4(), sender="customer", body=text
        )
        return stored.message, route(stored.state, stored.admitted)

    async def publish(self, message: Message, to: Route) -> None:
        """What the gateway does with a stored customer message the bot should answer."""
        conversation = await self.conversation(message.conversation_id)
        turn = CustomerTurn(
            conversation=message.conversation_id,
            seq=message.seq,
            message=message.id,
            text=message.body,
            channel=conversation.channel,
            channel_type="webchat",
        )
        queue = self.bus.topology.bot_queue(TRACK, admitted=to is Route.BOT)
        await self.bus.publish_work(queue, turn, str(message.id))

    async def say(self, conversation_id: uuid.UUID, text: str) -> Message:
        message, to = await self.store_message(conversation_id, text)
        assert to in (Route.BOT, Route.BOT_NEW)
        await self.publish(message, to)
        return message

    async def reply_to(self, message: Message) -> Message:
        """The bot's stored reply to `message`, once it is there."""

        async def stored() -> Message | None:
            transcript = await self.store.messages_after(message.conversation_id, 0)
            return next((m for m in transcript if m.id == reply_id(message.id)), None)

        reply: Message = await wait_until(f"the reply to {message.body!r}", stored)
        return reply

    async def conversation(self, conversation_id: uuid.UUID) -> Conversation:
        conversation = await self.store.conversation(conversation_id)
        assert conversation is not None
        return conversation

    async def events(self, conversation_id: uuid.UUID) -> list[str]:
        async with self.store.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT type FROM events WHERE conversation_id = $1 ORDER BY id", conversation_id
            )
        return [row["type"] for row in rows]

    def delivered(self, key: str, conversation_id: uuid.UUID) -> list[dict[str, Any]]:
        return [
            body
            for routing_key, body in self.deliveries
            if routing_key == key and body.get("conversation") == str(conversation_id)
        ]


@pytest.fixture
async def customers(database_uri: str, queue_uri: str, prefix: str) -> AsyncIterator[Customers]:
    """The gateway's side of the test (on the shared per-test database, broker and prefix)."""
    store = await Store.connect(database_uri)
    await store.migrate()
    bus = await Bus.connect(queue_uri, Topology(f"{prefix}.{CONTACT_CENTER}"))
    side = Customers(store, bus)

    async def delivered(body: bytes, routing_key: str) -> None:
        side.deliveries.append((routing_key, json.loads(body)))

    await bus.subscribe_deliveries(["customer.#", "agent.#"], delivered)
    try:
        yield side
    finally:
        for bot in side.bots:
            await bot.stop()
        await bus.close()
        await store.close()


@pytest.fixture
async def bot(customers: Customers, database_uri: str, queue_uri: str, prefix: str) -> RunningBot:
    running = await customers.start_bot(database_uri, queue_uri, prefix, bot_wiring(), "bot-0")
    await wait_until("the bot to be ready", _ready(running))
    return running


def _ready(bot: RunningBot) -> Callable[[], Awaitable[bool]]:
    async def ready() -> bool:
        return bot.role.ready()

    return ready


# --- conversations ---------------------------------------------------------------------------


async def test_a_conversation_contained_by_the_bot(customers: Customers, bot: RunningBot) -> None:
    conversation = await customers.start()
    hello = await customers.say(conversation, "hello")
    greeting = await customers.reply_to(hello)
    assert greeting.body.startswith("Hello! I'm Northwind Mobile's assistant")
    question = await customers.say(conversation, "how much data do I have left")
    answer = await customers.reply_to(question)
    assert "data used so far this month" in answer.body
    goodbye = await customers.say(conversation, "thanks, bye")
    farewell = await customers.reply_to(goodbye)
    assert farewell.body == "Glad I could help. Goodbye!"

    ended = await customers.conversation(conversation)
    assert ended.state is State.RESOLVED
    transcript = await customers.store.messages_after(conversation, 0)
    assert [(m.seq, m.sender) for m in transcript] == [
        (1, "customer"),
        (2, "bot"),
        (3, "customer"),
        (4, "bot"),
        (5, "customer"),
        (6, "bot"),
    ]
    assert await customers.events(conversation) == [
        "entered",
        "admitted",
        "bot_answered",
        "bot_answered",
        "bot_answered",
        "resolved",
    ]
    await wait_until(
        "the three replies delivered to the channel's gateways",
        _count(lambda: customers.delivered("customer.web", conversation), 3),
    )
    pushed = customers.delivered("customer.web", conversation)
    assert [(d["seq"], d["sender"]) for d in pushed] == [(2, "bot"), (4, "bot"), (6, "bot")]
    # the metrics contract: one first answer, three turns, one contained conversation
    assert (
        bot.metric(
            "switchboard_contacts_answered_total", channel="web", handler="bot", within_sla="true"
        )
        == 1
    )
    assert bot.metric("switchboard_bot_response_seconds_count", model_version="2.0.0") == 3
    assert (
        bot.metric(
            "switchboard_bot_conversations_total", model_version="2.0.0", outcome="contained"
        )
        == 1
    )
    assert bot.metric("switchboard_handle_time_seconds_count", channel="web", handler="bot") == 1


def _count(items: Callable[[], list[Any]], at_least: int) -> Callable[[], Awaitable[bool]]:
    async def enough() -> bool:
        return len(items()) >= at_least

    return enough


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("my phone screen is cracked, can you repair it", "low_confidence"),
        ("can I talk to a real person", "explicit_request"),
    ],
)
async def test_a_handoff_keeps_the_whole_transcript_and_silences_the_bot(
    customers: Customers, bot: RunningBot, text: str, reason: str
) -> None:
    conversation = await customers.start()
    question = await customers.say(conversation, "how much is my bill")
    await customers.reply_to(question)
    asked = await customers.say(conversation, text)
    handoff = await customers.reply_to(asked)
    assert handoff.body.startswith(HANDOFF_TEXT)

    queued = await customers.conversation(conversation)
    assert queued.state is State.QUEUED
    async with customers.store.pool.acquire() as connection:
        stored_reason = await connection.fetchval(
            "SELECT handoff_reason FROM conversations WHERE id = $1", conversation
        )
    assert stored_reason == reason
    await wait_until(
        "the agents tier to be nudged about its queue",
        _count(lambda: customers.delivered("agent.queue", conversation), 1),
    )
    assert (
        bot.metric(
            "switchboard_bot_conversations_total", model_version="2.0.0", outcome="escalated"
        )
        == 1
    )

    # A customer message already on its way to the bot, then one after an agent accepted:
    # the bot stays silent, and only moves its cursor past them.
    late, _ = await customers.store_message(conversation, "hello? are you there?")
    await customers.publish(late, Route.BOT)
    async with customers.store.transaction() as connection:
        await move(connection, conversation, Step.OFFER, actor="router")
        await move(
            connection,
            conversation,
            Step.ACCEPT,
            actor="agent-7",
            assignments={"agent_id": "agent-7"},
        )
    for_agent, _ = await customers.store_message(conversation, "my contract number is 1234")
    await customers.publish(for_agent, Route.BOT)

    async def passed() -> bool:
        return (await customers.conversation(conversation)).bot_cursor == for_agent.seq

    await wait_until("the bot to pass the customer's last message", passed)
    transcript = await customers.store.messages_after(conversation, 0)
    assert [(m.sender, m.body) for m in transcript] == [
        ("customer", "how much is my bill"),
        ("bot", transcript[1].body),
        ("customer", text),
        ("bot", handoff.body),
        ("customer", "hello? are you there?"),
        ("customer", "my contract number is 1234"),
    ]


async def test_a_redelivered_turn_stores_nothing_twice(
    customers: Customers, bot: RunningBot
) -> None:
    conversation = await customers.start()
    question = await customers.say(conversation, "where is the nearest store")
    reply = await customers.reply_to(question)
    await customers.publish(question, Route.BOT)  # the broker delivers it again

    await wait_until(
        "the stored reply announced again",
        _count(lambda: customers.delivered("customer.web", conversation), 2),
    )
    pushed = customers.delivered("customer.web", conversation)
    assert {(d["id"], d["seq"]) for d in pushed} == {(str(reply.id), reply.seq)}
    transcript = await customers.store.messages_after(conversation, 0)
    assert len(transcript) == 2
    assert await customers.events(conversation) == ["entered", "admitted", "bot_answered"]
    assert bot.metric("switchboard_bot_response_seconds_count", model_version="2.0.0") == 1


async def test_turns_of_one_conversation_are_answered_in_order(
    customers: Customers, bot: RunningBot
) -> None:
    conversation = await customers.start()
    first = await customers.say(conversation, "hello")
    await customers.reply_to(first)
    # Two messages before the bot answers; the second reaches the bot first.
    second, to = await customers.store_message(conversation, "how do I pay my bill")
    third, _ = await customers.store_message(conversation, "and when is it due")
    await customers.publish(third, to)
    await asyncio.sleep(0.3)
    await customers.publish(second, to)

    to_second = await customers.reply_to(second)
    to_third = await customers.reply_to(third)
    assert second.seq < third.seq < to_second.seq < to_third.seq
    assert "You can pay in the Northwind app" in to_second.body
    assert "due on the 21st" in to_third.body


async def test_a_new_conversation_waits_for_a_bot_slot(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    small = await customers.start_bot(
        database_uri, queue_uri, prefix, bot_wiring(concurrency=2), "bot-small"
    )
    await wait_until("the bot to be ready", _ready(small))
    first, second, third = [await customers.start() for _ in range(3)]
    to_first = await customers.say(first, "hello")
    await customers.reply_to(to_first)
    to_second = await customers.say(second, "hello")
    await customers.reply_to(to_second)
    to_third = await customers.say(third, "hello")

    await asyncio.sleep(1.5)  # three poll intervals: the third has no slot
    waiting = await customers.conversation(third)
    assert (waiting.admitted, waiting.bot_answered_at) == (False, None)
    assert not [m for m in await customers.store.messages_after(third, 0) if m.sender == "bot"]

    bye = await customers.say(first, "thanks, bye")
    await customers.reply_to(bye)
    await customers.reply_to(to_third)
    ended, admitted = await customers.conversation(first), await customers.conversation(third)
    async with customers.store.pool.acquire() as connection:
        ended_at = await connection.fetchval(
            "SELECT ended_at FROM conversations WHERE id = $1", first
        )
    assert ended.state is State.RESOLVED and admitted.admitted
    assert admitted.admitted_at is not None and admitted.admitted_at >= ended_at
    # its wait (arrival to first answer) includes the time it had no slot
    assert small.metric("switchboard_queue_wait_seconds_sum", channel="web", handler="bot") >= 1.5


async def test_two_replicas_share_one_tracks_slots(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    replicas = [
        await customers.start_bot(
            database_uri, queue_uri, prefix, bot_wiring(concurrency=1), f"bot-{i}"
        )
        for i in range(2)
    ]
    for replica in replicas:
        await wait_until("both replicas to be ready", _ready(replica))
    conversations = [await customers.start() for _ in range(3)]
    openings = [await customers.say(c, "hello") for c in conversations]
    await asyncio.sleep(1.5)
    admitted = [(await customers.conversation(c)).admitted for c in conversations]
    assert sorted(admitted) == [False, True, True]  # capacity 1 + 1

    # A graceful stop takes the replica's slot away at once, and hands back what it held.
    await replicas[0].stop()
    customers.bots.remove(replicas[0])
    served = [c for c, yes in zip(conversations, admitted, strict=True) if yes]
    waiting = conversations[admitted.index(False)]
    bye = await customers.say(served[0], "bye")
    await customers.reply_to(bye)
    await asyncio.sleep(1.0)  # one slot, still taken by the other served conversation
    assert not (await customers.conversation(waiting)).admitted
    bye = await customers.say(served[1], "bye")
    await customers.reply_to(bye)
    await customers.reply_to(openings[admitted.index(False)])
    async with customers.store.pool.acquire() as connection:
        admitted_by = await connection.fetchval(
            "SELECT actor FROM events WHERE conversation_id = $1 AND type = 'admitted'", waiting
        )
    assert admitted_by == "bot-1"


class CuttableLink:
    """A TCP relay to the database that the test can cut and restore: the store going away
    and coming back, as the bot sees it, without touching the shared server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.cut = False
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def sever(self) -> None:
        self.cut = True
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    def restore(self) -> None:
        self.cut = False

    def close(self) -> None:
        self.sever()
        if self.server is not None:
            self.server.close()


async def test_a_turn_waits_out_a_database_outage(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str
) -> None:
    server = urlsplit(database_uri)
    assert server.hostname is not None and server.port is not None
    link = CuttableLink(server.hostname, server.port)
    port = await link.start()
    credentials = server.netloc.rpartition("@")[0]
    through_link = urlunsplit(server._replace(netloc=f"{credentials}@127.0.0.1:{port}"))
    try:
        linked = await customers.start_bot(
            through_link, queue_uri, prefix, bot_wiring(), "bot-linked"
        )
        await wait_until("the bot to be ready", _ready(linked))
        conversation = await customers.start()
        await customers.reply_to(await customers.say(conversation, "hello"))

        link.sever()
        question = await customers.say(conversation, "how much data do I have left")
        await asyncio.sleep(3)  # the bot's retries meet a closed door meanwhile
        assert len(await customers.store.messages_after(conversation, 0)) == 3
        link.restore()
        answer = await customers.reply_to(question)
        assert "data used so far this month" in answer.body
        transcript = await customers.store.messages_after(conversation, 0)
        assert [m.sender for m in transcript] == ["customer", "bot", "customer", "bot"]
        channel = await customers.bus.connection.channel()
        dead = await channel.declare_queue(customers.bus.topology.dead_letter_queue, passive=True)
        assert dead.declaration_result.message_count == 0
    finally:
        link.close()


# --- remote models -------------------------------------------------------------------------


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
    """A remote NLU endpoint: answers `bill_amount` with a text of its own, and is too slow
    for anything mentioning "slow"."""
    requests: list[dict[str, Any]] = []

    async def parse(request: web.Request) -> web.Response:
        body = await request.json()
        requests.append(body)
        if "slow" in body["text"]:
            await asyncio.sleep(2)
        return web.json_response(
            {
                "intents": [
                    {"name": "bill_amount", "confidence": 0.93},
                    {"name": "pay_bill", "confidence": 0.05},
                ],
                "response": "Your bill this month is 23.50, due on the 21st.",
            }
        )

    app = web.Application()
    app.router.add_post("/parse", parse)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield requests, f"http://127.0.0.1:{runner.addresses[0][1]}/parse"
    finally:
        await runner.cleanup()


async def test_a_remote_model_answers_and_a_timeout_fails_the_turn(
    customers: Customers,
    database_uri: str,
    queue_uri: str,
    prefix: str,
    endpoint: tuple[list[dict[str, Any]], str],
    tmp_path: Path,
) -> None:
    requests, url = endpoint
    model = {
        "format": "switchboard.io/dialogue-model/v1",
        "name": "llm-support",
        "version": "0.1.0",
        "kind": "remote",
        "remote": {"url": url, "timeoutSeconds": 0.5},
        "language": "en",
        "messages": {"fallback": "Again?", "handoff": "Passing you on."},
        "intents": [
            {"name": "bill_amount", "response": "Your bill is in the app."},
            {"name": "pay_bill", "response": "Pay in the app."},
        ],
    }
    (tmp_path / "bot-model").mkdir()
    (tmp_path / "bot-model" / "model.json").write_text(json.dumps(model))
    remote = await customers.start_bot(
        database_uri,
        queue_uri,
        prefix,
        bot_wiring(
            uri="configmap://bot-model/model.json",
            model_dir=str(tmp_path),
            model_name="llm-support",
            model_version="0.1.0",
        ),
        "bot-remote",
    )
    await wait_until("the remote bot to be ready", _ready(remote))

    conversation = await customers.start(model_version="0.1.0")
    question = await customers.say(conversation, "what do I owe")
    assert (await customers.reply_to(question)).body == (
        "Your bill this month is 23.50, due on the 21st."
    )
    slow = await customers.say(conversation, "this is slow")
    assert (await customers.reply_to(slow)).body == "Passing you on."
    assert requests[1]["history"] == [
        {"sender": "customer", "text": "what do I owe"},
        {"sender": "bot", "text": "Your bill this month is 23.50, due on the 21st."},
    ]
    async with customers.store.pool.acquire() as connection:
        state, reason = await connection.fetchrow(
            "SELECT state, handoff_reason FROM conversations WHERE id = $1", conversation
        )
    assert (state, reason) == ("queued", "bot_failure")
    assert (
        remote.metric(
            "switchboard_bot_conversations_total", model_version="0.1.0", outcome="failed"
        )
        == 1
    )


# --- the process ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_model_of_another_version_is_refused(
    customers: Customers, database_uri: str, queue_uri: str, prefix: str, tmp_path: Path
) -> None:
    port = _free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
        "SWITCHBOARD_CONTACT_CENTER": CONTACT_CENTER,
        "SWITCHBOARD_NAMESPACE": prefix,
        "SWITCHBOARD_HTTP_PORT": str(port),
        "SWITCHBOARD_METRICS_PORT": "0",
        "SWITCHBOARD_QUEUE_URI": queue_uri,
        "SWITCHBOARD_DATABASE_URI": database_uri,
        "SWITCHBOARD_SLA_TARGET": "0.8",
        "SWITCHBOARD_SLA_ANSWER_WITHIN_SECONDS": "20",
        "SWITCHBOARD_SLA_MAX_ABANDON_RATE": "0.05",
        "SWITCHBOARD_POD_NAME": "bot-refusing",
        "SWITCHBOARD_MODEL_NAME": MODEL_NAME,
        "SWITCHBOARD_MODEL_VERSION": "2.1.0",
        "SWITCHBOARD_MODEL_URI": f"file://{MODEL}",
        "SWITCHBOARD_BOT_CONCURRENCY": "5",
        "SWITCHBOARD_BOT_TRACK": TRACK,
        "SWITCHBOARD_HANDOFF_CONFIDENCE_THRESHOLD": "0.6",
        "SWITCHBOARD_HANDOFF_AMBIGUITY_MARGIN": "0.1",
        "SWITCHBOARD_HANDOFF_MAX_FAILED_TURNS": "2",
        "SWITCHBOARD_HANDOFF_SENTIMENT_THRESHOLD": "-1",
        "SWITCHBOARD_HANDOFF_SENTIMENT_DROP": "2",
        "SWITCHBOARD_HANDOFF_CLARIFY": "false",
        "SWITCHBOARD_HANDOFF_CHANNELS": "{}",
    }
    log = tmp_path / "bot.log"
    with log.open("w") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "switchboard.cli",
            "bot",
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        refusal = (
            f"not serving: file://{MODEL} holds model telco-support 2.0.0, but this bot is to "
            "serve telco-support 2.1.0 (spec.bot.model): refusing to serve it"
        )

        async def refused() -> bool:
            return refusal in log.read_text()

        await wait_until("the bot to say why it refuses the model", refused, within=30)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 503

        conversation = await customers.start()
        await customers.say(conversation, "hello")
        await asyncio.sleep(1)
        channel = await customers.bus.connection.channel()
        queue = await channel.declare_queue(
            customers.bus.topology.bot_queue(TRACK, admitted=False), passive=True
        )
        assert queue.declaration_result.message_count == 1  # nobody took it
        async with customers.store.pool.acquire() as connection:
            assert await connection.fetchval("SELECT count(*) FROM bot_replicas") == 0
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
    assert process.returncode == 0
