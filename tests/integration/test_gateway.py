"""The channel gateway as a real process (`switchboard gateway`) against a real PostgreSQL and
RabbitMQ: webchat and api customers, resume without loss or repeats, hardening, leaving, and
the routing weights.

The bot is played by the test the way the bot role does it: it takes each CustomerTurn from
its track's queue, stores the reply (its id derived from the message it answers) with the
conversation's bot columns in one transaction, then announces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from switchboard.contract import ContractMetrics
from switchboard.dataplane.announce import announce
from switchboard.dataplane.bus import Bus
from switchboard.dataplane.conversation import Step, reply_id
from switchboard.dataplane.envelope import AgentNudge, CustomerTurn
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Store, add_message, fetch_conversation, move
from switchboard.dataplane.topology import Topology
from switchboard.dataplane.wiring import ServiceLevel, Wiring

CONTACT_CENTER = "acme"
TRACKS = ("stable", "canary")
VERSIONS = {"stable": "3.1.0", "canary": "3.2.0"}
TOKEN = "partner-token-0123456789"
REPO = Path(__file__).resolve().parents[2]

# --- the gateway process -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_routing(path: Path, weights: dict[str, float]) -> None:
    """Replaces the routing file the way the kubelet swaps a ConfigMap: a new file, renamed."""
    document = {
        "sticky": True,
        "bot": [
            {"track": t, "version": VERSIONS[t], "weight": w, "url": f"http://bot-{t}"}
            for t, w in weights.items()
        ],
    }
    staged = path.with_suffix(".new")
    staged.write_text(json.dumps(document))
    os.replace(staged, path)


@dataclass
class Gateway:
    process: asyncio.subprocess.Process
    url: str
    metrics_url: str
    log: Path

    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    async def metric(self, name: str, **labels: str) -> float:
        """A sample of the gateway's metrics (0 when the series does not exist yet)."""
        async with aiohttp.ClientSession() as http, http.get(self.metrics_url) as response:
            text = await response.text()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@pytest.fixture
def routing_file(tmp_path: Path) -> Path:
    path = tmp_path / "routing.json"
    write_routing(path, {"stable": 100})
    return path


@pytest.fixture
async def start_gateway(
    database_uri: str, queue_uri: str, prefix: str, routing_file: Path, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    started: list[Gateway] = []

    async def start(
        channel_type: str = "webchat", *, channel: str = "web", **extra: str
    ) -> Gateway:
        http_port, metrics_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "SWITCHBOARD_CONTACT_CENTER": CONTACT_CENTER,
            "SWITCHBOARD_NAMESPACE": prefix,
            "SWITCHBOARD_HTTP_PORT": str(http_port),
            "SWITCHBOARD_METRICS_PORT": str(metrics_port),
            "SWITCHBOARD_QUEUE_URI": queue_uri,
            "SWITCHBOARD_DATABASE_URI": database_uri,
            "SWITCHBOARD_SLA_TARGET": "0.8",
            "SWITCHBOARD_SLA_ANSWER_WITHIN_SECONDS": "20",
            "SWITCHBOARD_SLA_MAX_ABANDON_RATE": "0.05",
            "SWITCHBOARD_ROUTING_FILE": str(routing_file),
            "SWITCHBOARD_CHANNEL_NAME": channel,
            "SWITCHBOARD_CHANNEL_TYPE": channel_type,
            "SWITCHBOARD_API_TOKEN": TOKEN,
            "SWITCHBOARD_POD_NAME": f"gateway-{len(started)}",
            **extra,
        }
        log = tmp_path / f"gateway-{len(started)}.log"
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "switchboard.cli",
                "gateway",
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        gateway = Gateway(
            process,
            f"http://127.0.0.1:{http_port}",
            f"http://127.0.0.1:{metrics_port}/metrics",
            log,
        )
        started.append(gateway)
        await wait_for("the gateway to be ready", lambda: _readyz(gateway, 200), gateway=gateway)
        return gateway

    yield start
    for gateway in started:
        await gateway.stop()


async def _readyz(gateway: Gateway, status: int) -> bool:
    if gateway.process.returncode is not None:
        raise AssertionError(f"the gateway exited:\n{gateway.log.read_text()}")
    try:
        async with aiohttp.ClientSession() as http, http.get(gateway.url + "/readyz") as response:
            return response.status == status
    except aiohttp.ClientConnectionError:
        return False


async def wait_for(
    what: str,
    check: Callable[[], Awaitable[Any]],
    *,
    within: float = 20.0,
    gateway: Gateway | None = None,
) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    log = f"\ngateway log:\n{gateway.log.read_text()}" if gateway else ""
    raise AssertionError(f"timed out after {within:g}s waiting for {what}{log}")


# --- the bot, played ---------------------------------------------------------------------


@dataclass
class PlayedBot:
    runtime: Runtime
    turns: list[tuple[str, CustomerTurn]] = field(default_factory=list)
    answering: asyncio.Event = field(default_factory=asyncio.Event)
    nudges: list[AgentNudge] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.runtime.store

    async def handle(self, message: AbstractIncomingMessage) -> None:
        turn = CustomerTurn.model_validate_json(message.body)
        self.turns.append((message.routing_key or "", turn))
        await self.answering.wait()
        async with self.store.transaction() as connection:
            stored = await add_message(
                connection,
                turn.conversation,
                reply_id(turn.message),
                "bot",
                "Assistant",
                f"you said: {turn.text}",
            )
            await connection.execute(
                "UPDATE conversations SET admitted = true, "
                "admitted_at = coalesce(admitted_at, now()), "
                "bot_answered_at = coalesce(bot_answered_at, now()), "
                "bot_cursor = greatest(bot_cursor, $2) WHERE id = $1",
                turn.conversation,
                turn.seq,
            )
            conversation = await fetch_conversation(connection, turn.conversation)
        assert conversation is not None
        await announce(self.runtime, conversation, stored.message)
        await message.ack()

    async def agent_nudge(self, body: bytes, _key: str) -> None:
        self.nudges.append(AgentNudge.model_validate_json(body))


@pytest.fixture
async def bot(database_uri: str, queue_uri: str, prefix: str) -> AsyncIterator[PlayedBot]:
    """Answers every turn of both tracks (unless `answering` is cleared); hears agent nudges.
    Like every role, it applies the store's migrations when it starts."""
    wiring = Wiring(
        contact_center=CONTACT_CENTER,
        namespace=prefix,
        http_port=0,
        metrics_port=0,
        queue_uri=queue_uri,
        database_uri=database_uri,
        service_level=ServiceLevel(0.8, 20, 0.05),
        routing_file=None,
        replica="played-bot",
    )
    store = await Store.connect(database_uri)
    await store.migrate()
    bus = await Bus.connect(queue_uri, Topology(wiring.prefix))
    runtime = Runtime(wiring, store, bus, ContractMetrics(CONTACT_CENTER, CollectorRegistry()))
    played = PlayedBot(runtime)
    played.answering.set()
    for track in TRACKS:
        for admitted in (True, False):
            queue = runtime.topology.bot_queue(track, admitted=admitted)
            await bus.consume_work(queue, played.handle, prefetch=50)
    await bus.subscribe_deliveries(["agent.#"], played.agent_nudge)
    yield played
    await bus.close()
    await store.close()


# --- a webchat customer ------------------------------------------------------------------


class Customer:
    """A webchat client: frames in the order the gateway sent them."""

    def __init__(self, http: aiohttp.ClientSession, gateway: Gateway) -> None:
        self.http = http
        self.gateway = gateway
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self) -> Customer:
        self.socket = await self.http.ws_connect(self.gateway.ws_url())
        return self

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.socket is not None
        await self.socket.send_str(json.dumps(frame))

    async def frame(self) -> dict[str, Any]:
        assert self.socket is not None
        received = await self.socket.receive(timeout=10)
        assert received.type is aiohttp.WSMsgType.TEXT, received
        document: dict[str, Any] = json.loads(received.data)
        return document

    async def silent(self, seconds: float = 0.7) -> None:
        """Nothing more arrives for a while."""
        assert self.socket is not None
        with contextlib.suppress(TimeoutError):
            extra = await self.socket.receive(timeout=seconds)
            raise AssertionError(f"unexpected frame {extra}")

    async def closed_with(self) -> int | None:
        assert self.socket is not None
        received = await self.socket.receive(timeout=10)
        assert received.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), received
        return self.socket.close_code

    async def start(self, conversation: uuid.UUID, customer: str = "cust-1") -> dict[str, Any]:
        await self.send({"type": "start", "conversation": str(conversation), "customer": customer})
        return await self.frame()

    async def resume(self, conversation: uuid.UUID, after: int) -> None:
        await self.send({"type": "resume", "conversation": str(conversation), "after": after})
        started = await self.frame()
        assert started["type"] == "started", started

    async def say(self, text: str, message_id: uuid.UUID | None = None) -> dict[str, Any]:
        """Sends a message and returns its acknowledgement."""
        message_id = message_id or uuid.uuid4()
        await self.send({"type": "message", "id": str(message_id), "text": text})
        ack = await self.frame()
        assert ack == {"type": "ack", "id": str(message_id), "seq": ack["seq"]}, ack
        return ack

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _count(store: Store, sql: str, *args: Any) -> int:
    async with store.pool.acquire() as connection:
        return int(await connection.fetchval(sql, *args))


# --- webchat -----------------------------------------------------------------------------


async def test_a_webchat_message_is_acknowledged_with_its_seq_and_the_reply_is_pushed(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway()
    customer = await Customer(http, gateway).connect()
    conversation = uuid.uuid4()
    assert await customer.start(conversation) == {
        "type": "started",
        "conversation": str(conversation),
        "state": "bot",
    }
    message_id = uuid.uuid4()
    assert (await customer.say("where is my parcel?", message_id))["seq"] == 1
    reply = await customer.frame()
    assert reply["type"] == "message"
    assert (reply["seq"], reply["sender"], reply["text"]) == (
        2,
        "bot",
        "you said: where is my parcel?",
    )
    assert reply["id"] == str(reply_id(message_id))
    queue, turn = bot.turns[0]
    assert queue == bot.runtime.topology.bot_queue("stable", admitted=False)
    assert (turn.conversation, turn.seq, turn.message) == (conversation, 1, message_id)
    await customer.silent()

    # A retried start is the same conversation, counted as one arrival, replayed from the top.
    again = await Customer(http, gateway).connect()
    assert (await again.start(conversation))["conversation"] == str(conversation)
    assert [(await again.frame())["seq"] for _ in range(2)] == [1, 2]
    await again.silent()
    assert await gateway.metric("switchboard_contacts_arrived_total", channel="web") == 1
    stored = await bot.store.conversation(conversation)
    assert stored is not None
    assert (stored.track, stored.model_version) == ("stable", "3.1.0")


async def test_a_resume_gets_exactly_the_messages_missed_and_none_twice(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway()
    conversation = uuid.uuid4()
    customer = await Customer(http, gateway).connect()
    await customer.start(conversation)
    assert (await customer.say("one"))["seq"] == 1
    assert (await customer.frame())["seq"] == 2
    bot.answering.clear()
    assert (await customer.say("two"))["seq"] == 3
    await customer.close()  # gone before the answer to "two"
    bot.answering.set()
    await wait_for(
        "the answer to 'two' to be stored",
        lambda: _count(bot.store, "SELECT count(*) FROM messages WHERE seq = 4"),
    )

    back = await Customer(http, gateway).connect()
    await back.resume(conversation, after=3)
    missed = await back.frame()
    assert (missed["seq"], missed["text"]) == (4, "you said: two")
    await back.silent()
    # Later messages still arrive, once each.
    assert (await back.say("three"))["seq"] == 5
    assert (await back.frame())["seq"] == 6
    await back.silent()

    # A client that kept an older cursor gets everything after it, in order, once.
    older = await Customer(http, gateway).connect()
    await older.resume(conversation, after=1)
    assert [(await older.frame())["seq"] for _ in range(5)] == [2, 3, 4, 5, 6]
    await older.silent()


async def test_a_resent_unacknowledged_message_is_stored_and_answered_once(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway()
    conversation = uuid.uuid4()
    first = await Customer(http, gateway).connect()
    await first.start(conversation)
    bot.answering.clear()
    message_id = uuid.uuid4()
    await first.send({"type": "message", "id": str(message_id), "text": "hello?"})
    await first.close()  # without reading the acknowledgement

    second = await Customer(http, gateway).connect()
    await second.resume(conversation, after=0)
    frames = [await second.frame()]
    if frames[0]["type"] == "message":  # stored before the first connection closed
        assert frames[0]["id"] == str(message_id)
    await second.send({"type": "message", "id": str(message_id), "text": "hello?"})
    ack = await second.frame()
    assert ack == {"type": "ack", "id": str(message_id), "seq": 1}
    bot.answering.set()
    reply = await second.frame()
    assert (reply["type"], reply["seq"]) == ("message", 2)
    await second.silent()
    assert await _count(bot.store, "SELECT count(*) FROM messages WHERE id = $1", message_id) == 1
    assert await _count(bot.store, "SELECT count(*) FROM messages") == 2


async def test_webchat_refuses_malformed_oversized_and_hasty_frames_and_stores_nothing_of_them(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway()

    async def refused(frames: list[str | bytes], code: str, close: int) -> None:
        customer = await Customer(http, gateway).connect()
        assert customer.socket is not None
        for frame in frames:
            if isinstance(frame, bytes):
                await customer.socket.send_bytes(frame)
            else:
                await customer.socket.send_str(frame)
        error = await customer.frame()
        assert (error["type"], error["code"]) == ("error", code), error
        assert error["message"]
        assert await customer.closed_with() == close

    start = json.dumps({"type": "start", "conversation": str(uuid.uuid4())})
    await refused(["{not json"], "bad_request", 1008)
    await refused(['{"type": "shout"}'], "unknown_type", 1008)
    await refused([b"\x00\x01"], "bad_request", 1008)
    await refused(
        [json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": "hi"})],
        "not_started",
        1008,
    )
    await refused(
        [json.dumps({"type": "resume", "conversation": str(uuid.uuid4()), "after": 0})],
        "unknown_conversation",
        1008,
    )
    too_long = json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": "x" * 2001})
    customer = await Customer(http, gateway).connect()
    await customer.send(json.loads(start))
    assert (await customer.frame())["type"] == "started"
    assert customer.socket is not None
    await customer.socket.send_str(too_long)
    assert (await customer.frame())["code"] == "too_large"
    assert await customer.closed_with() == 1009

    # A frame beyond the frame limit is cut off by the WebSocket layer itself.
    huge = await Customer(http, gateway).connect()
    assert huge.socket is not None
    await huge.socket.send_str(json.dumps({"type": "message", "text": "y" * 40_000}))
    assert await huge.closed_with() == 1009

    # Faster than the rate limit: refused once the burst is spent, and the connection closed.
    hasty = await Customer(http, gateway).connect()
    await hasty.start(uuid.uuid4())
    bot.answering.clear()
    ids = [uuid.uuid4() for _ in range(30)]
    for message_id in ids:
        await hasty.send({"type": "message", "id": str(message_id), "text": "spam"})
    acked, refusal = 0, None
    while refusal is None:
        frame = await hasty.frame()
        if frame["type"] == "ack":
            acked += 1
        elif frame["type"] == "error":
            refusal = frame["code"]
    assert refusal == "rate_limited"
    assert await hasty.closed_with() == 1008
    assert 5 <= acked < 30
    stored = await _count(bot.store, "SELECT count(*) FROM messages WHERE sender = 'customer'")
    assert stored == acked
    assert await _count(bot.store, "SELECT count(*) FROM conversations") == 2


async def test_a_customer_who_does_not_come_back_within_the_grace_leaves(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    grace = 1.5
    gateway = await start_gateway(SWITCHBOARD_GATEWAY_DISCONNECT_GRACE_SECONDS=str(grace))
    answered, unanswered, returning = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    customer = await Customer(http, gateway).connect()
    await customer.start(answered)
    await customer.say("hi")
    await customer.frame()
    await customer.close()
    quiet = await Customer(http, gateway).connect()
    await quiet.start(unanswered)
    await quiet.close()
    away = await Customer(http, gateway).connect()
    await away.start(returning)
    await away.close()
    back = await Customer(http, gateway).connect()
    await back.resume(returning, after=0)

    async def state(conversation: uuid.UUID) -> str:
        found = await bot.store.conversation(conversation)
        assert found is not None
        return found.state.value

    async def both_ended() -> bool:
        return await state(answered) == "resolved" and await state(unanswered) == "abandoned"

    await wait_for("the two customers who left to be let go", both_ended, within=grace * 6)
    await asyncio.sleep(grace * 2)
    assert await state(returning) == "bot"  # connected again within the grace: still there
    assert (
        await gateway.metric("switchboard_contacts_abandoned_total", channel="web", handler="bot")
        == 1
    )
    assert (
        await gateway.metric(
            "switchboard_bot_conversations_total", model_version="3.1.0", outcome="contained"
        )
        == 1
    )
    # The bot's time ends when the customer was last seen, not when the sweep noticed.
    bot_time = await gateway.metric(
        "switchboard_handle_time_seconds_sum", channel="web", handler="bot"
    )
    assert 0 <= bot_time < grace


async def test_a_message_to_an_agents_conversation_goes_to_the_agent_not_the_bot(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway()
    conversation = uuid.uuid4()
    customer = await Customer(http, gateway).connect()
    await customer.start(conversation)
    await customer.say("I want a person")
    await customer.frame()
    await _hand_to_agent(bot.store, conversation, agent="ann")
    turns = len(bot.turns)

    message_id = uuid.uuid4()
    assert (await customer.say("hello ann", message_id))["seq"] == 3
    nudge = await wait_for(
        "the agent to be told",
        lambda: _found(bot.nudges, lambda n: n.kind == "message" and n.delivery is not None),
    )
    assert nudge.agent == "ann"
    assert nudge.delivery.id == message_id
    await customer.silent()  # its own message is not pushed back
    assert len(bot.turns) == turns

    await customer.send({"type": "end"})
    assert await customer.frame() == {"type": "ended", "state": "resolved"}
    await wait_for(
        "the agents tier to hear the end",
        lambda: _found(bot.nudges, lambda n: n.kind == "ended"),
    )
    assert (
        await gateway.metric(
            "switchboard_handle_time_seconds_count", channel="web", handler="agent"
        )
        == 1
    )


async def _found(items: list[Any], match: Callable[[Any], bool]) -> Any:
    return next((item for item in items if match(item)), None)


async def _hand_to_agent(store: Store, conversation: uuid.UUID, agent: str | None) -> None:
    """What the bot and the agents tier do: hand off, and with an agent, offer and accept."""
    now = datetime.now(UTC)
    async with store.transaction() as connection:
        await move(
            connection, conversation, Step.HAND_OFF, actor="bot", assignments={"queued_at": now}
        )
        if agent is not None:
            await move(
                connection, conversation, Step.OFFER, actor=agent, assignments={"agent_id": agent}
            )
            await move(
                connection, conversation, Step.ACCEPT, actor=agent, assignments={"accepted_at": now}
            )


class BrokerLink:
    """A TCP relay between the gateway and the broker that the test can cut, as a network
    failure would: the gateway's connection drops and its robust client reconnects."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


async def test_after_a_reconnect_to_the_broker_connections_catch_up_from_the_store(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    http: aiohttp.ClientSession,
    queue_uri: str,
) -> None:
    broker = urllib.parse.urlsplit(queue_uri)
    link = BrokerLink(broker.port or 5672)
    relayed = broker._replace(
        netloc=f"{broker.username}:{broker.password}@127.0.0.1:{await link.start()}"
    )
    try:
        gateway = await start_gateway(SWITCHBOARD_QUEUE_URI=urllib.parse.urlunsplit(relayed))
        conversation = uuid.uuid4()
        customer = await Customer(http, gateway).connect()
        await customer.start(conversation)
        await customer.say("before")
        assert (await customer.frame())["seq"] == 2

        # While the gateway is cut off from the broker, an agent's message is stored and
        # announced: the gateway's delivery queue is gone with its connection, and misses it.
        link.cut()
        async with bot.store.transaction() as connection:
            stored = await add_message(
                connection, conversation, uuid.uuid4(), "system", None, "an agent will join"
            )
            found = await fetch_conversation(connection, conversation)
        assert found is not None
        await announce(bot.runtime, found, stored.message)

        missed = await customer.frame()  # pushed once the gateway is back on the broker
        assert (missed["seq"], missed["text"]) == (3, "an agent will join")
        assert "re-reading the store for 1 customer connections" in gateway.log.read_text()
        await customer.silent()
        assert (await customer.say("after"))["seq"] == 4
        assert (await customer.frame())["seq"] == 5
        await customer.silent()
    finally:
        await link.close()


# --- api -------------------------------------------------------------------------------------

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _api(
    http: aiohttp.ClientSession,
    gateway: Gateway,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
    async with http.request(
        method,
        gateway.url + "/api/v1" + path,
        data=data,
        headers=AUTH if headers is None else headers,
    ) as response:
        return response.status, await response.json()


async def test_api_start_post_and_long_poll_read(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway("api", channel="partners")
    conversation = str(uuid.uuid4())
    start = {"id": conversation, "customer": "cust-9", "attributes": {"plan": "gold"}}
    assert await _api(http, gateway, "POST", "/conversations", start) == (
        201,
        {"id": conversation, "state": "bot", "last_seq": 0},
    )
    assert (await _api(http, gateway, "POST", "/conversations", start))[0] == 200

    message = {"id": str(uuid.uuid4()), "text": "my order?"}
    path = f"/conversations/{conversation}/messages"
    assert await _api(http, gateway, "POST", path, message) == (
        200,
        {"id": message["id"], "seq": 1},
    )
    assert await _api(http, gateway, "POST", path, message) == (
        200,
        {"id": message["id"], "seq": 1},
    )

    status, read = await _api(http, gateway, "GET", path + "?after=1&wait=10")
    assert status == 200 and read["state"] == "bot"
    assert [(m["seq"], m["sender"], m["text"]) for m in read["messages"]] == [
        (2, "bot", "you said: my order?")
    ]
    everything = (await _api(http, gateway, "GET", path + "?after=0"))[1]["messages"]
    assert [m["seq"] for m in everything] == [1, 2]

    began = time.monotonic()
    assert (await _api(http, gateway, "GET", path + "?after=2&wait=1"))[1]["messages"] == []
    assert 0.9 <= time.monotonic() - began < 3

    # A waiting read answers as soon as the reply is stored, not at the end of its wait.
    bot.answering.clear()
    await _api(http, gateway, "POST", path, {"id": str(uuid.uuid4()), "text": "hello?"})
    waiting = asyncio.create_task(_api(http, gateway, "GET", path + "?after=3&wait=20"))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    answered_at = time.monotonic()
    bot.answering.set()
    status, read = await waiting
    assert [m["seq"] for m in read["messages"]] == [4]
    assert time.monotonic() - answered_at < 3

    assert await _api(http, gateway, "DELETE", f"/conversations/{conversation}") == (
        200,
        {"id": conversation, "state": "resolved"},
    )
    assert (await _api(http, gateway, "GET", path + "?after=4&wait=10"))[1] == {
        "messages": [],
        "state": "resolved",
    }
    assert (
        await gateway.metric(
            "switchboard_bot_conversations_total", model_version="3.1.0", outcome="contained"
        )
        == 1
    )
    assert await gateway.metric("switchboard_contacts_arrived_total", channel="partners") == 1


async def test_a_delete_while_queued_for_an_agent_counts_an_abandonment(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway("api", channel="partners")
    conversation = uuid.uuid4()
    await _api(http, gateway, "POST", "/conversations", {"id": str(conversation), "customer": "c"})
    path = f"/conversations/{conversation}/messages"
    await _api(http, gateway, "POST", path, {"id": str(uuid.uuid4()), "text": "agent please"})
    await _api(http, gateway, "GET", path + "?after=1&wait=10")
    await _hand_to_agent(bot.store, conversation, agent=None)

    assert await _api(http, gateway, "DELETE", f"/conversations/{conversation}") == (
        200,
        {"id": str(conversation), "state": "abandoned"},
    )
    assert (
        await gateway.metric(
            "switchboard_contacts_abandoned_total", channel="partners", handler="agent"
        )
        == 1
    )
    nudge = await wait_for(
        "the agents tier to hear the end", lambda: _found(bot.nudges, lambda n: n.kind == "ended")
    )
    assert nudge.conversation == conversation
    # Leaving again changes nothing and counts nothing.
    assert (await _api(http, gateway, "DELETE", f"/conversations/{conversation}"))[1]["state"] == (
        "abandoned"
    )
    assert (
        await gateway.metric(
            "switchboard_contacts_abandoned_total", channel="partners", handler="agent"
        )
        == 1
    )
    events = await _count(
        bot.store,
        "SELECT count(*) FROM events WHERE type = 'abandoned' AND conversation_id = $1",
        conversation,
    )
    assert events == 1


async def test_api_refuses_malformed_oversized_and_unauthenticated_requests_storing_nothing(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot, http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway("api", channel="partners")
    conversation = str(uuid.uuid4())
    start = {"id": conversation, "customer": "c"}
    path = f"/conversations/{conversation}/messages"
    message = {"id": str(uuid.uuid4()), "text": "hi"}

    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
        async with http.post(
            gateway.url + "/api/v1/conversations", json=start, headers=headers
        ) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert (await response.json())["code"] == "unauthorized"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/conversations", b"{oops", 400, "bad_request"),
        ("POST", "/conversations", {"id": conversation}, 400, "bad_request"),
        ("POST", "/conversations", {**start, "webhook": "file:///etc/passwd"}, 400, "bad_request"),
        ("POST", path, message, 404, "unknown_conversation"),
        ("POST", "/conversations/not-a-uuid/messages", message, 400, "bad_request"),
        ("GET", path + "?after=0", None, 404, "unknown_conversation"),
    ]
    for method, where, body, status, code in cases:
        answered = await _api(http, gateway, method, where, body)
        assert (answered[0], answered[1]["code"]) == (status, code), (where, body, answered)
    assert await _count(bot.store, "SELECT count(*) FROM conversations") == 0

    assert (await _api(http, gateway, "POST", "/conversations", start))[0] == 201
    later: list[tuple[str, str, Any, int, str]] = [
        ("POST", path, {"id": str(uuid.uuid4()), "text": "z" * 2001}, 413, "too_large"),
        ("POST", path, b'{"id": "x", "text": "' + b"w" * 70_000 + b'"}', 413, "too_large"),
        ("POST", path, {"id": "not-a-uuid", "text": "hi"}, 400, "bad_request"),
        ("POST", path, {"id": str(uuid.uuid4()), "text": "   "}, 400, "bad_request"),
        ("GET", path + "?after=-1", None, 400, "bad_request"),
        ("GET", path + "?after=0&wait=31", None, 400, "bad_request"),
    ]
    for method, where, body, status, code in later:
        answered = await _api(http, gateway, method, where, body)
        assert (answered[0], answered[1]["code"]) == (status, code), (where, answered)
    assert await _count(bot.store, "SELECT count(*) FROM messages") == 0

    await _api(http, gateway, "DELETE", f"/conversations/{conversation}")
    answered = await _api(http, gateway, "POST", path, message)
    assert (answered[0], answered[1]["code"]) == (409, "closed")
    assert await _count(bot.store, "SELECT count(*) FROM messages") == 0


@dataclass
class Receiver:
    """A webhook receiver: what it was sent, and the statuses it answers with, in turn."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hooks = Receiver(statuses=[])
    app = web.Application()
    app.router.add_post("/hook", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield hooks, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_replies_are_posted_to_the_webhook_once_and_again_after_a_failure(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    http: aiohttp.ClientSession,
    receiver: tuple[Receiver, str],
) -> None:
    hooks, url = receiver
    gateway = await start_gateway("api", channel="partners")
    conversation = str(uuid.uuid4())
    start = {"id": conversation, "customer": "c", "webhook": url}
    assert (await _api(http, gateway, "POST", "/conversations", start))[0] == 201
    path = f"/conversations/{conversation}/messages"
    first = uuid.uuid4()
    await _api(http, gateway, "POST", path, {"id": str(first), "text": "ping"})
    await wait_for("the reply at the webhook", lambda: _at_least(hooks.received, 1))
    await asyncio.sleep(1.0)
    assert len(hooks.received) == 1
    headers, body = hooks.received[0]
    delivery = json.loads(body)
    assert (delivery["conversation"], delivery["seq"], delivery["sender"]) == (
        conversation,
        2,
        "bot",
    )
    assert delivery["id"] == str(reply_id(first)) == headers["X-Switchboard-Message-Id"]
    expected = hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Switchboard-Signature"] == f"sha256={expected}"

    # The receiver fails once: the reply comes again, and is acknowledged after the 2xx.
    hooks.statuses = [503]
    await _api(http, gateway, "POST", path, {"id": str(uuid.uuid4()), "text": "again"})
    await wait_for("the retried reply", lambda: _at_least(hooks.received, 3), within=15)
    await asyncio.sleep(1.5)
    assert len(hooks.received) == 3
    assert hooks.received[1][1] == hooks.received[2][1]


async def _at_least(items: list[Any], count: int) -> bool:
    return len(items) >= count


# --- routing, channel types, capacity ------------------------------------------------------


async def test_new_conversations_follow_the_routing_weights_and_each_stays_on_its_track(
    start_gateway: Callable[..., Awaitable[Gateway]],
    bot: PlayedBot,
    http: aiohttp.ClientSession,
    routing_file: Path,
) -> None:
    write_routing(routing_file, {"stable": 75, "canary": 25})
    gateway = await start_gateway("api", channel="partners")
    starts = 400
    ids = [uuid.uuid4() for _ in range(starts)]
    for conversation in ids:
        await _api(
            http, gateway, "POST", "/conversations", {"id": str(conversation), "customer": "c"}
        )
    async with bot.store.pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT track, model_version, count(*) FROM conversations GROUP BY 1, 2"
        )
    counts = {row["track"]: row["count"] for row in rows}
    assert {row["track"]: row["model_version"] for row in rows} == VERSIONS
    # Binomial(400, 0.25): within 4 standard deviations (8.7 each) of 100.
    sigma = math.sqrt(starts * 0.25 * 0.75)
    assert abs(counts["canary"] - starts * 0.25) <= 4 * sigma, counts

    # The operator moves all new traffic to the canary; old conversations stay where they are.
    write_routing(routing_file, {"stable": 0, "canary": 100})
    await asyncio.sleep(1.5)  # the gateway looks at the file at most once a second
    later = [uuid.uuid4() for _ in range(40)]
    for conversation in later:
        await _api(
            http, gateway, "POST", "/conversations", {"id": str(conversation), "customer": "c"}
        )
    async with bot.store.pool.acquire() as connection:
        tracks = await connection.fetch(
            "SELECT DISTINCT track FROM conversations WHERE id = ANY($1::uuid[])", later
        )
        on_stable = await connection.fetchval(
            "SELECT id FROM conversations WHERE track = 'stable' LIMIT 1"
        )
    assert [row["track"] for row in tracks] == ["canary"]
    await _api(
        http,
        gateway,
        "POST",
        f"/conversations/{on_stable}/messages",
        {"id": str(uuid.uuid4()), "text": "hi"},
    )
    await wait_for("the turn at the bot", lambda: _at_least(bot.turns, 1))
    assert bot.turns[0][0] == bot.runtime.topology.bot_queue("stable", admitted=False)


async def test_a_channel_type_without_an_adapter_is_ready_and_refuses_customers_saying_why(
    start_gateway: Callable[..., Awaitable[Gateway]], http: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway("voice", channel="phone")
    assert await _status(http, gateway.url + "/readyz", 200)
    assert "voice, which has no provider adapter yet" in gateway.log.read_text()
    async with http.post(gateway.url + "/api/v1/conversations", json={}) as response:
        assert response.status == 501
        assert "voice provider adapter is not built yet" in (await response.json())["message"]


async def _status(http: aiohttp.ClientSession, url: str, status: int) -> bool:
    try:
        async with http.get(url) as response:
            return response.status == status
    except aiohttp.ClientConnectionError:
        return False


async def test_hundreds_of_webchat_conversations_at_once_and_the_memory_each_costs(
    start_gateway: Callable[..., Awaitable[Gateway]], bot: PlayedBot
) -> None:
    connections = 500
    gateway = await start_gateway()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        warm = await Customer(http, gateway).connect()  # the first connection pays for imports
        await warm.start(uuid.uuid4())
        await asyncio.sleep(0.5)
        before = gateway.rss_kib()
        customers = [Customer(http, gateway) for _ in range(connections)]
        await asyncio.gather(*(customer.connect() for customer in customers))
        await asyncio.gather(*(customer.start(uuid.uuid4()) for customer in customers))
        await asyncio.sleep(0.5)
        per_connection = (gateway.rss_kib() - before) / connections

        async def converse(customer: Customer) -> int:
            await customer.say("hello")
            return int((await customer.frame())["seq"])

        replies = await asyncio.gather(*(converse(customer) for customer in customers))
        assert replies == [2] * connections
        print(f"\n{connections} webchat conversations: {per_connection:.1f} KiB per connection")
        assert per_connection < 64, f"{per_connection:.1f} KiB per connection"
        await asyncio.gather(*(customer.close() for customer in customers))
