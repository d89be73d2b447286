"""The agents tier against a real PostgreSQL and RabbitMQ, as `switchboard agents` processes:
routing (longest idle, capacity per channel type, offers that expire, two replicas at once),
the workspace's WebSocket and REST API, and what it refuses.

Conversations are put in the queue directly with the store, as the bot would hand them off,
with the nudge the bot publishes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from switchboard.contract import ContractMetrics
from switchboard.dataplane.announce import announce
from switchboard.dataplane.bus import Bus
from switchboard.dataplane.conversation import Sender, Step
from switchboard.dataplane.envelope import AgentNudge, Delivery
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Message, Store, move
from switchboard.dataplane.topology import Topology, agent_deliveries, customer_deliveries
from switchboard.dataplane.wiring import ServiceLevel, Wiring
from switchboard.metrics.prometheus import Prometheus
from switchboard.metrics.queries import observe
from switchboard.sizing.workloads import SkillGroupShare
from tests.factory import contact_center
from tests.integration.conftest import LocalPrometheus
from tests.integration.kube import REPO

SWITCHBOARD = str(REPO / ".venv" / "bin" / "switchboard")
TOKEN = "open-sesame"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CENTER = "acme"
CHANNEL = "web"

# --- the tier as processes, and what the other roles would do --------------------------------


class Replica:
    """One `switchboard agents` process, serving on free ports."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as output:
            self.process = subprocess.Popen(
                [SWITCHBOARD, "agents"],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
            )
        self.url = ""
        self.metrics_url = ""

    async def serving(self) -> None:
        def ports() -> tuple[str, str] | None:
            text = self.log_path.read_text(errors="replace")
            if self.process.poll() is not None:
                raise AssertionError(f"the agents tier exited:\n{text}")
            if "agents is serving" not in text:
                return None
            found = re.search(r"http on port (\d+), metrics on port (\d+)", text)
            assert found is not None
            return found.group(1), found.group(2)

        http, metrics = await eventually(f"the agents tier to serve ({self.log_path})", ports)
        self.url = f"http://127.0.0.1:{http}"
        self.metrics_url = f"http://127.0.0.1:{metrics}/metrics"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Center:
    """The store and the bus as the tests see them, and the tier's replicas."""

    def __init__(self, database_uri: str, queue_uri: str, namespace: str, tmp_path: Path) -> None:
        self.database_uri = database_uri
        self.queue_uri = queue_uri
        self.namespace = namespace
        self.tmp_path = tmp_path
        self.replicas: list[Replica] = []
        self.customer_sees: list[Delivery] = []
        self.store: Store
        self.bus: Bus
        self.runtime: Runtime

    async def start(self) -> None:
        self.store = await Store.connect(self.database_uri)
        await self.store.migrate()
        self.bus = await Bus.connect(self.queue_uri, Topology(f"{self.namespace}.{CENTER}"))
        wiring = Wiring(
            contact_center=CENTER,
            namespace=self.namespace,
            http_port=0,
            metrics_port=0,
            queue_uri=self.queue_uri,
            database_uri=self.database_uri,
            service_level=ServiceLevel(0.8, 20.0, 0.05),
            routing_file=None,
            replica="test",
        )
        registry = CollectorRegistry()
        self.runtime = Runtime(
            wiring, self.store, self.bus, ContractMetrics(CENTER, registry), registry
        )

        async def seen_by_customer(body: bytes, _: str) -> None:
            self.customer_sees.append(Delivery.model_validate_json(body))

        await self.bus.subscribe_deliveries([customer_deliveries(CHANNEL)], seen_by_customer)

    async def replica(
        self,
        offer_timeout: float = 60.0,
        routing: dict[str, Any] | None = None,
        **extra: str,
    ) -> Replica:
        """A replica of the tier; `extra`: more of its environment."""
        env = {
            "SWITCHBOARD_CONTACT_CENTER": CENTER,
            "SWITCHBOARD_NAMESPACE": self.namespace,
            "SWITCHBOARD_HTTP_PORT": "0",
            "SWITCHBOARD_METRICS_PORT": "0",
            "SWITCHBOARD_QUEUE_URI": self.queue_uri,
            "SWITCHBOARD_DATABASE_URI": self.database_uri,
            "SWITCHBOARD_SLA_TARGET": "0.8",
            "SWITCHBOARD_SLA_ANSWER_WITHIN_SECONDS": "20",
            "SWITCHBOARD_SLA_MAX_ABANDON_RATE": "0.05",
            "SWITCHBOARD_POD_NAME": f"agents-{len(self.replicas)}",
            "SWITCHBOARD_SEATS_PER_REPLICA": "25",
            "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS": str(offer_timeout),
            "SWITCHBOARD_AGENTS_TOKEN": TOKEN,
        }
        if routing is not None:
            env["SWITCHBOARD_AGENTS_ROUTING"] = json.dumps(routing)
        env.update(extra)
        replica = Replica(env, self.tmp_path / f"agents-{len(self.replicas)}.log")
        self.replicas.append(replica)
        await replica.serving()
        return replica

    async def hand_off(
        self,
        channel_type: str = "webchat",
        texts: tuple[str, ...] = ("Where is my parcel?", "Let me find you an agent."),
        nudge: bool = True,
        attributes: dict[str, str] | None = None,
        intent: str | None = None,
    ) -> uuid.UUID:
        """A conversation the bot handed off, as the bot leaves it: queued (with the intent it
        recognised last), with a nudge."""
        conversation = uuid.uuid4()
        await self.store.start_conversation(
            conversation,
            channel=CHANNEL,
            channel_type=channel_type,
            customer=f"customer-{conversation.hex[:6]}",
            track="stable",
            model_version="1.0.0",
            attributes=attributes,
        )
        for index, text in enumerate(texts):
            sender: Sender = "customer" if index % 2 == 0 else "bot"
            await self.store.add_message(conversation, uuid.uuid4(), sender=sender, body=text)
        async with self.store.transaction() as connection:
            now = await connection.fetchval("SELECT now()")
            await move(
                connection,
                conversation,
                Step.HAND_OFF,
                actor="bot",
                assignments={
                    "queued_at": now,
                    "handoff_reason": "asked for an agent",
                    "last_intent": intent,
                },
            )
        if nudge:
            await self.bus.publish_delivery(agent_deliveries("queue"), AgentNudge(kind="queue"))
        return conversation

    async def customer_says(self, conversation: uuid.UUID, text: str) -> Message:
        """A customer message, stored and announced as the gateway does."""
        stored = await self.store.add_message(
            conversation, uuid.uuid4(), sender="customer", body=text
        )
        found = await self.store.conversation(conversation)
        assert found is not None
        await announce(self.runtime, found, stored.message)
        return stored.message

    async def events(self, conversation: uuid.UUID | None = None) -> list[asyncpg.Record]:
        async with self.store.pool.acquire() as connection:
            if conversation is None:
                return await connection.fetch("SELECT * FROM events ORDER BY id")
            return await connection.fetch(
                "SELECT * FROM events WHERE conversation_id = $1 ORDER BY id", conversation
            )

    async def state(self, conversation: uuid.UUID) -> tuple[str, str | None]:
        found = await self.store.conversation(conversation)
        assert found is not None
        return found.state.value, found.agent_id

    async def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()
        await self.bus.close()
        await self.store.close()


@pytest.fixture
async def center(
    database_uri: str, queue_uri: str, prefix: str, tmp_path: Path
) -> AsyncIterator[Center]:
    running = Center(database_uri, queue_uri, prefix, tmp_path)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def eventually(what: str, probe: Callable[[], object], within: float = 20.0) -> Any:
    """Polls `probe` (plain or async) until it returns something truthy, and returns that."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")


class RestAgent:
    """An agent through the REST API, as scripts and the load generator are."""

    def __init__(self, http: aiohttp.ClientSession, replica: Replica, agent: str) -> None:
        self.http = http
        self.base = f"{replica.url}/api/v1/agents/{agent}"
        self.agent = agent

    async def call(self, method: str, path: str = "", body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.base + path, json=body, headers=AUTH) as r:
            return r.status, await r.json()

    async def ok(self, method: str, path: str = "", body: Any = None) -> Any:
        status, answer = await self.call(method, path, body)
        assert status == 200, (method, path, status, answer)
        return answer

    async def sign_in(
        self,
        capacity: dict[str, int],
        available: bool = True,
        skills: dict[str, int] | None = None,
    ) -> None:
        await self.ok(
            "POST",
            "/sign-in",
            {
                "name": self.agent.title(),
                "capacity": capacity,
                "available": available,
                "skills": skills or {},
            },
        )

    async def available(self, available: bool) -> None:
        await self.ok("PUT", "/availability", {"available": available})

    async def offers(self, wait: float = 0) -> list[str]:
        answer = await self.ok("GET", f"/offers?wait={wait}")
        return [offer["conversation"] for offer in answer["offers"]]

    async def offered(self, conversation: uuid.UUID) -> None:
        async def probe() -> bool:
            return str(conversation) in await self.offers(wait=1)

        await eventually(f"{conversation} to be offered to {self.agent}", probe)

    async def accept(self, conversation: uuid.UUID) -> Any:
        return await self.ok("POST", f"/conversations/{conversation}/accept")


# --- routing ---------------------------------------------------------------------------------


async def test_an_offer_goes_to_the_longest_idle_agent_with_room(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    ann, bob, cid = (RestAgent(http, replica, name) for name in ("ann", "bob", "cid"))
    for agent in (ann, bob, cid):  # signed in in this order: Ann has been idle longest
        await agent.sign_in({"webchat": 2})

    first = await center.hand_off()
    await ann.offered(first)
    second = await center.hand_off()
    await bob.offered(second)  # Ann holds one now; Bob and Cid hold nothing
    third = await center.hand_off()
    await cid.offered(third)
    fourth = await center.hand_off()
    await ann.offered(fourth)  # everyone holds one: Ann has been idle since the earliest

    assert await center.state(first) == ("offered", "ann")
    waits = []
    for conversation in (first, second, third, fourth):
        events = {row["type"]: row["at"] for row in await center.events(conversation)}
        waits.append((events["offered"] - events["handed_off"]).total_seconds())
    # Nudged by the handoff, not found by the once-a-second safety net.
    assert max(waits) < 0.5, waits


async def test_a_vip_contact_overtakes_a_regular_one_and_each_counts_in_its_queue(
    center: Center, http: aiohttp.ClientSession
) -> None:
    routing = {
        "queues": [
            {"name": "vip", "priority": 10, "selector": "tier == 'vip'"},
            {"name": "regular", "priority": 0, "ageingPerMinute": 1},
        ]
    }
    replica = await center.replica(routing=routing)
    ann = RestAgent(http, replica, "ann")
    await ann.sign_in({"webchat": 1}, available=False)
    regular = await center.hand_off(attributes={"tier": "standard"})
    vip = await center.hand_off(attributes={"tier": "vip"})
    await ann.available(True)

    await ann.offered(vip)
    assert await center.state(regular) == ("queued", None)

    # Each finished contact counts in its own queue's handle time: what the autoscaler sizes
    # each skill group by.
    for conversation in (vip, regular):
        await ann.offered(conversation)
        await ann.accept(conversation)
        await ann.ok("POST", f"/conversations/{conversation}/resolve")
    async with http.get(replica.metrics_url) as response:
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    finished = {
        s.labels["queue"]: s.value
        for s in families["switchboard_routing_queue_handle_time_seconds"].samples
        if s.name.endswith("_count")
    }
    # "" (contacts no queue takes: there is no default queue) exists at 0 from the start.
    assert finished == {"vip": 1.0, "regular": 1.0, "": 0.0}


async def test_the_autoscaler_reads_each_routing_queue_s_share_of_the_work_through_prometheus(
    center: Center, http: aiohttp.ClientSession, prometheus: LocalPrometheus
) -> None:
    routing = {
        "queues": [
            {"name": "vip", "priority": 10, "selector": "tier == 'vip'"},
            {"name": "regular", "priority": 0},
        ]
    }
    replica = await center.replica(routing=routing)
    address = replica.metrics_url.removeprefix("http://").removesuffix("/metrics")
    prometheus.add_target(address, {"namespace": center.namespace})
    try:
        # Scraped before any contact finishes, so each queue's series starts at 0 in
        # Prometheus and increase() counts its first contact.
        await eventually(f"Prometheus to scrape {address}", lambda: prometheus.scraped(address))
        ann = RestAgent(http, replica, "ann")
        await ann.sign_in({"webchat": 1})
        for tier in ("vip", "standard", "standard"):
            conversation = await center.hand_off(attributes={"tier": tier})
            await ann.offered(conversation)
            await ann.accept(conversation)
            await ann.ok("POST", f"/conversations/{conversation}/resolve")

        cc = contact_center({"spec.routing": routing}, name=CENTER, namespace=center.namespace)
        async with Prometheus(prometheus.url) as client:

            async def both_queues() -> tuple[SkillGroupShare, ...] | None:
                groups = (await observe(client, cc, "agents")).skill_groups
                return groups if len(groups) == 2 else None

            groups = await eventually("both queues' finished contacts", both_queues)
    finally:
        prometheus.remove_target(address)
    # One vip contact and two regular ones; increase() extrapolates each series of one
    # target alike, so the shares are exact up to rounding.
    assert [(g.name, round(g.share, 6)) for g in groups] == [
        ("regular", round(2 / 3, 6)),
        ("vip", round(1 / 3, 6)),
    ]
    assert all(g.aht_seconds > 0 for g in groups)


async def test_a_skilled_queue_waits_for_its_agents_then_overflows_after_its_timeout(
    center: Center, http: aiohttp.ClientSession
) -> None:
    routing = {
        "skills": ["billing"],
        "queues": [
            {
                "name": "billing",
                "priority": 1,
                "selector": "intent == 'billing'",
                "skills": [{"name": "billing", "minLevel": 3}],
                "overflow": [{"queue": "general", "after": "3s"}],
            },
            {"name": "general", "priority": 0},
        ],
    }
    replica = await center.replica(routing=routing)
    bob = RestAgent(http, replica, "bob")
    await bob.sign_in({"webchat": 2}, skills={"billing": 2})  # below the queue's level
    billing = await center.hand_off(intent="billing")

    # Bob has room but not the skill: nothing for him until the overflow's timeout.
    await asyncio.sleep(2.0)
    assert await center.state(billing) == ("queued", None)
    await bob.offered(billing)
    events = {row["type"]: row["at"] for row in await center.events(billing)}
    waited = (events["offered"] - events["handed_off"]).total_seconds()
    # Not before its timeout; after it, at the next of the once-a-second ticks (on a loaded
    # machine, a little later).
    assert 3.0 <= waited < 6.0, waited


async def test_an_agent_at_capacity_for_a_type_is_skipped_for_it_but_gets_another_type(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    ann, bob = RestAgent(http, replica, "ann"), RestAgent(http, replica, "bob")
    await ann.sign_in({"webchat": 1, "voice": 1})
    await bob.sign_in({"webchat": 1})

    chat = await center.hand_off("webchat")
    await ann.offered(chat)
    await ann.accept(chat)
    another_chat = await center.hand_off("webchat")
    await bob.offered(another_chat)  # Ann is idle longer but at capacity for webchat
    call = await center.hand_off("voice")
    await ann.offered(call)  # Bob takes no voice; Ann has room for one call

    assert await center.state(chat) == ("agent", "ann")
    assert await center.state(another_chat) == ("offered", "bob")
    assert await center.state(call) == ("offered", "ann")
    # And nothing more: a further chat waits, nobody has room for it.
    waiting = await center.hand_off("webchat")
    await asyncio.sleep(1.5)
    assert await center.state(waiting) == ("queued", None)


async def test_two_replicas_routing_at_once_offer_no_contact_twice_and_lose_none(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replicas = [await center.replica(), await center.replica()]
    agents = [RestAgent(http, replicas[n % 2], f"agent{n}") for n in range(8)]
    capacity = 3
    for agent in agents:
        await agent.sign_in({"webchat": capacity})
    # More contacts than seats, queued before anyone routes them, then one nudge each.
    contacts = [await center.hand_off(nudge=False) for _ in range(60)]
    for _ in contacts:
        await center.bus.publish_delivery(agent_deliveries("queue"), AgentNudge(kind="queue"))

    most_offers_at_once: Counter[str] = Counter()

    async def work(agent: RestAgent) -> None:
        """Accepts and resolves what it is offered, until every contact is resolved."""
        while True:
            offers = await agent.offers(wait=1)
            most_offers_at_once[agent.agent] = max(most_offers_at_once[agent.agent], len(offers))
            for offer in offers:
                await agent.accept(uuid.UUID(offer))
                await agent.ok("POST", f"/conversations/{offer}/resolve")
            async with center.store.pool.acquire() as connection:
                open_ones = await connection.fetchval(
                    "SELECT count(*) FROM conversations WHERE state <> 'resolved'"
                )
            if open_ones == 0:
                return

    await asyncio.wait_for(asyncio.gather(*(work(agent) for agent in agents)), timeout=90)

    events = await center.events()
    by_conversation: dict[uuid.UUID, list[str]] = {}
    for row in events:
        by_conversation.setdefault(row["conversation_id"], []).append(row["type"])
    assert set(by_conversation) == set(contacts)
    for conversation, kinds in by_conversation.items():
        assert kinds == ["entered", "handed_off", "offered", "accepted", "resolved"], conversation
    # Every offer went to someone with room: nobody was ever offered more than they take.
    assert max(most_offers_at_once.values()) <= capacity
    routed_by = Counter(row["data"]["replica"] for row in events if row["type"] == "offered")
    assert set(routed_by) == {"agents-0", "agents-1"}, routed_by


async def test_an_offer_not_accepted_in_time_returns_ahead_of_newer_contacts(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica(offer_timeout=1.5)
    ann, bob = RestAgent(http, replica, "ann"), RestAgent(http, replica, "bob")
    await ann.sign_in({"webchat": 1})
    await bob.sign_in({"webchat": 1}, available=False)
    older = await center.hand_off()
    await ann.offered(older)
    newer = await center.hand_off()  # nobody has room: it waits
    await ann.available(False)  # Ann left her desk with the offer on her screen

    async def back_in_line() -> bool:
        return await center.state(older) == ("queued", None)

    await eventually("the offer to Ann to expire", back_in_line, within=10)
    await bob.available(True)
    await bob.offered(older)  # first in line: it kept its place ahead of the newer contact
    assert await center.state(newer) == ("queued", None)
    kinds = [row["type"] for row in await center.events(older)]
    assert kinds == ["entered", "handed_off", "offered", "offer_expired", "offered"]
    expired = next(row for row in await center.events(older) if row["type"] == "offer_expired")
    assert expired["actor"] == "ann"


async def test_an_expired_offer_goes_to_another_agent_before_the_one_who_let_it_expire(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica(offer_timeout=1.5)
    ann, bob = RestAgent(http, replica, "ann"), RestAgent(http, replica, "bob")
    await ann.sign_in({"webchat": 1})
    await bob.sign_in({"webchat": 2})
    missed = await center.hand_off()
    await ann.offered(missed)
    taken = await center.hand_off()
    await bob.offered(taken)
    await bob.accept(taken)
    # When the offer expires, Ann holds nothing and Bob holds one: Ann would come first but
    # for having let this very offer expire.
    await bob.offered(missed)
    offers = [row["actor"] for row in await center.events(missed) if row["type"] == "offered"]
    assert offers == ["ann", "bob"]


async def test_a_reconnect_keeps_an_agents_place_in_line_and_a_resolve_or_a_break_does_not(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    ann = await SocketAgent.connect(http, replica, "ann")  # first in line
    bob = RestAgent(http, replica, "bob")
    await bob.sign_in({"webchat": 2})
    await ann.socket.close()  # her connection drops, and she is back within seconds
    ann = await SocketAgent.connect(http, replica, "ann")

    async def offered_to(conversation: uuid.UUID) -> str:
        async def agent() -> str | None:
            state, agent = await center.state(conversation)
            return agent if state == "offered" else None

        offered: str = await eventually(f"{conversation} to be offered", agent)
        return offered

    async def handle(agent: str, conversation: uuid.UUID) -> None:
        worker = RestAgent(http, replica, agent)
        await worker.accept(conversation)
        await worker.ok("POST", f"/conversations/{conversation}/resolve")

    first = await center.hand_off()
    assert await offered_to(first) == "ann"
    await handle("ann", first)  # idle again from now: behind Bob
    second = await center.hand_off()
    assert await offered_to(second) == "bob"
    await handle("bob", second)  # now Ann has been idle longer...
    await ann.socket.send_json({"type": "availability", "available": False})
    await ann.next("availability")
    await ann.socket.send_json({"type": "availability", "available": True})
    await ann.next("availability")  # ...but she took a break: her idle time starts anew
    third = await center.hand_off()
    assert await offered_to(third) == "bob"


# --- the workspace ---------------------------------------------------------------------------


class SocketAgent:
    """An agent through the UI's WebSocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls, http: aiohttp.ClientSession, replica: Replica, agent: str, **sign_in: Any
    ) -> SocketAgent:
        socket = await http.ws_connect(f"{replica.url}/ws")
        await socket.send_json(
            {
                "type": "sign_in",
                "token": TOKEN,
                "agent": agent,
                "name": agent.title(),
                "capacity": {"webchat": 2},
                "available": True,
                **sign_in,
            }
        )
        connected = cls(socket)
        await connected.next("signed_in")
        return connected

    async def next(self, kind: str, within: float = 10) -> dict[str, Any]:
        """The next frame of `kind`; the frames before it are kept in `frames`."""
        deadline = time.monotonic() + within
        while True:
            message = await self.socket.receive(timeout=max(deadline - time.monotonic(), 0.01))
            assert message.type is aiohttp.WSMsgType.TEXT, message
            frame: dict[str, Any] = json.loads(message.data)
            self.frames.append(frame)
            if frame["type"] == kind:
                return frame

    async def closed(self) -> int:
        """The code the server closed the socket with (frames before it are kept)."""
        while True:
            message = await self.socket.receive(timeout=10)
            if message.type is not aiohttp.WSMsgType.TEXT:
                assert message.type is aiohttp.WSMsgType.CLOSE, message
                return int(message.data)
            self.frames.append(json.loads(message.data))

    async def messages(self, count: int) -> list[dict[str, Any]]:
        return [await self.next("message") for _ in range(count)]

    def all_messages(self) -> list[tuple[str, int]]:
        return [(f["conversation"], f["seq"]) for f in self.frames if f["type"] == "message"]


async def test_an_agent_accepts_sees_the_whole_transcript_replies_and_resolves(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    ann = await SocketAgent.connect(http, replica, "ann")
    conversation = await center.hand_off(
        texts=("My parcel never came", "Sorry! Which order?", "Order 1234", "Let me get someone.")
    )
    while not (await ann.next("offers"))["offers"]:
        pass
    await ann.socket.send_json({"type": "accept", "conversation": str(conversation)})
    await ann.next("accepted")
    transcript = await ann.messages(5)
    assert [(m["seq"], m["sender"], m["text"]) for m in transcript] == [
        (1, "customer", "My parcel never came"),
        (2, "bot", "Sorry! Which order?"),
        (3, "customer", "Order 1234"),
        (4, "bot", "Let me get someone."),
        (5, "system", "Ann joined"),
    ]
    assert await center.state(conversation) == ("agent", "ann")

    await center.customer_says(conversation, "Are you there?")
    live = await ann.next("message")
    assert (live["seq"], live["sender"], live["text"]) == (6, "customer", "Are you there?")

    reply = str(uuid.uuid4())
    send = {"type": "send", "conversation": str(conversation), "id": reply, "text": "Yes: found it"}
    await ann.socket.send_json(send)
    ack = await ann.next("ack")
    assert (ack["id"], ack["seq"]) == (reply, 7)
    await ann.socket.send_json(send)  # a resend of the same id: the same message
    assert (await ann.next("ack"))["seq"] == 7

    await ann.socket.send_json({"type": "resolve", "conversation": str(conversation)})
    ended = await ann.next("ended")
    assert ended == {"type": "ended", "conversation": str(conversation), "state": "resolved"}

    # The agent saw every message of the conversation once, in order.
    assert ann.all_messages() == [(str(conversation), seq) for seq in range(1, 9)]
    # The store has the reply once and the resolution; the customer's gateways were told both.
    messages = await center.store.messages_after(conversation, 0)
    assert [(m.sender, m.body) for m in messages[6:]] == [
        ("agent", "Yes: found it"),
        ("system", "Ann resolved the conversation"),
    ]
    assert await center.state(conversation) == ("resolved", "ann")

    async def customer_told() -> bool:
        return {7, 8} <= {d.seq for d in center.customer_sees if d.conversation == conversation}

    await eventually(
        "the customer's gateways to be told the reply and the resolution", customer_told
    )
    told = {d.seq: d for d in center.customer_sees if d.conversation == conversation}
    assert (told[7].sender, told[7].author, told[7].text) == ("agent", "Ann", "Yes: found it")

    # The contract: one agent answer within the objective, one handle time.
    async with http.get(replica.metrics_url) as response:
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    answered = [
        s
        for s in families["switchboard_contacts_answered"].samples
        if s.name.endswith("_total") and s.labels["handler"] == "agent"
    ]
    assert [(s.labels["channel"], s.labels["within_sla"], s.value) for s in answered] == [
        (CHANNEL, "true", 1.0)
    ]
    handled = [
        s
        for s in families["switchboard_handle_time_seconds"].samples
        if s.name.endswith("_count") and s.labels["handler"] == "agent"
    ]
    assert [s.value for s in handled] == [1.0]


async def test_a_reconnected_agent_resumes_after_the_last_message_it_showed(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    ann = await SocketAgent.connect(http, replica, "ann")
    conversation = await center.hand_off()
    while not (await ann.next("offers"))["offers"]:
        pass
    await ann.socket.send_json({"type": "accept", "conversation": str(conversation)})
    shown = await ann.messages(3)
    assert shown[-1]["seq"] == 3
    await ann.socket.close()

    await center.customer_says(conversation, "Hello?")
    await center.customer_says(conversation, "Anyone?")
    again = await SocketAgent.connect(http, replica, "ann")
    held = await again.next("conversations")
    assert [c["conversation"] for c in held["conversations"]] == [str(conversation)]
    assert held["conversations"][0]["last_seq"] == 5
    await again.socket.send_json({"type": "resume", "conversation": str(conversation), "after": 3})
    resumed = await again.messages(2)
    assert [(m["seq"], m["text"]) for m in resumed] == [(4, "Hello?"), (5, "Anyone?")]
    await center.customer_says(conversation, "Oh, hi")
    assert (await again.next("message"))["seq"] == 6
    await asyncio.sleep(1.5)  # a refresh of the screen or two: nothing is sent again
    assert again.all_messages() == [(str(conversation), seq) for seq in (4, 5, 6)]


async def test_the_rest_api_accepts_replies_and_resolves_with_the_full_transcript(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    bob = RestAgent(http, replica, "bob")
    await bob.sign_in({"webchat": 1})
    conversation = await center.hand_off()
    await bob.offered(conversation)
    accepted = await bob.accept(conversation)
    assert [m["sender"] for m in accepted["messages"]] == ["customer", "bot", "system"]
    assert accepted["state"] == "agent"
    again = await bob.accept(conversation)  # a retried accept: the same answer, nothing new
    assert again["messages"] == accepted["messages"]

    waiting = asyncio.create_task(
        bob.ok("GET", f"/conversations/{conversation}/messages?after=3&wait=10")
    )
    await asyncio.sleep(0.3)
    said = "Thanks, my card is 4111 1111 1111 1111"
    await center.customer_says(conversation, said)
    woken = await waiting
    # Agents see personal data masked (on by default); the store keeps what the customer wrote.
    assert [m["text"] for m in woken["messages"]] == ["Thanks, my card is [card ending 1111]"]
    stored_text = await center.store.pool.fetchval(
        "SELECT body FROM messages WHERE conversation_id = $1 AND seq = 4", conversation
    )
    assert stored_text == said

    reply_id = str(uuid.uuid4())
    stored = await bob.ok(
        "POST", f"/conversations/{conversation}/messages", {"id": reply_id, "text": "On it"}
    )
    resent = await bob.ok(
        "POST", f"/conversations/{conversation}/messages", {"id": reply_id, "text": "On it"}
    )
    assert stored == resent == {"conversation": str(conversation), "id": reply_id, "seq": 5}
    await bob.ok("POST", f"/conversations/{conversation}/resolve")
    await bob.ok("POST", f"/conversations/{conversation}/resolve")  # a retry: no-op
    after = await bob.ok("GET", f"/conversations/{conversation}/messages?after=4")
    assert after["state"] == "resolved"
    assert [(m["sender"], m["text"]) for m in after["messages"]] == [
        ("agent", "On it"),
        ("system", "Bob resolved the conversation"),
    ]
    kinds = Counter(row["type"] for row in await center.events(conversation))
    assert (kinds["accepted"], kinds["resolved"]) == (1, 1)

    async def customer_told() -> bool:
        return {5, 6} <= {d.seq for d in center.customer_sees if d.conversation == conversation}

    await eventually("the customer's gateways to be told", customer_told)


# --- what is refused -------------------------------------------------------------------------


async def test_unauthenticated_and_malformed_requests_are_refused_and_store_nothing(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    api = f"{replica.url}/api/v1"
    sign_in = {"name": "Eve", "capacity": {"webchat": 1}}

    async def status(
        method: str, path: str, headers: dict[str, str] | None = None, **body: Any
    ) -> tuple[int, Any]:
        async with http.request(method, api + path, headers=headers, **body) as response:
            return response.status, await response.json()

    assert (await status("POST", "/agents/eve/sign-in", json=sign_in))[0] == 401
    wrong = {"Authorization": "Bearer open-sesam"}
    code, answer = await status("POST", "/agents/eve/sign-in", wrong, json=sign_in)
    assert (code, answer["error"]) == (401, "unauthorized")
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"data": b"{not json"}, "not JSON"),
        ({"json": {"name": "Eve"}}, "capacity: Field required"),
        ({"json": {**sign_in, "capacity": {"fax": 1}}}, "capacity.fax"),
        ({"json": {**sign_in, "role": "admin"}}, "role: Extra inputs"),
        ({"data": b"x" * (70 * 1024)}, "Too Large"),
    ]
    for body, complaint in refusals:
        code, answer = await status("POST", "/agents/eve/sign-in", AUTH, **body)
        assert code in (400, 413) and complaint in answer["message"], (body, code, answer)
    code, answer = await status("POST", "/agents/eve%20x/sign-in", AUTH, json=sign_in)
    assert (code, answer["error"]) == (400, "malformed")
    assert (await status("GET", "/agents/eve/offers", AUTH))[0] == 404  # never signed in

    # Someone else's conversation, and a reply that is not one.
    owner = RestAgent(http, replica, "owner")
    await owner.sign_in({"webchat": 1})
    conversation = await center.hand_off()
    await owner.offered(conversation)
    eve = RestAgent(http, replica, "eve")
    await eve.sign_in({"webchat": 1})
    assert await eve.call("POST", f"/conversations/{conversation}/accept") == (
        409,
        {"error": "not_offered", "message": f"conversation {conversation} is not offered to you"},
    )
    await owner.accept(conversation)
    reply = {"id": str(uuid.uuid4()), "text": "I am not the agent"}
    code, answer = await eve.call("POST", f"/conversations/{conversation}/messages", reply)
    assert (code, answer["error"]) == (403, "not_yours")
    code, answer = await owner.call(
        "POST", f"/conversations/{conversation}/messages", {"id": "x", "text": "hi"}
    )
    assert (code, answer["error"]) == (400, "malformed")
    code, answer = await owner.call(
        "POST", f"/conversations/{conversation}/messages", {"id": str(uuid.uuid4()), "text": " "}
    )
    assert (code, answer["message"]) == (400, "text: must not be blank")
    other = await center.hand_off(nudge=False)
    for taken in (conversation, other):  # a message id of this conversation, of another one
        message_id = (await center.store.messages_after(taken, 0))[0].id
        code, answer = await owner.call(
            "POST",
            f"/conversations/{conversation}/messages",
            {"id": str(message_id), "text": "an id that is taken"},
        )
        assert (code, answer["error"]) == (409, "id_taken")
    code, _ = await owner.call("GET", "/conversations/not-a-uuid/messages")
    assert code == 400
    code, _ = await owner.call("GET", f"/conversations/{conversation}/messages?after=-1")
    assert code == 400

    messages = await center.store.messages_after(conversation, 0)
    assert [m.sender for m in messages] == ["customer", "bot", "system"]  # nothing from Eve
    async with center.store.pool.acquire() as connection:
        agents = await connection.fetch("SELECT id FROM agents ORDER BY id")
    assert [row["id"] for row in agents] == ["eve", "owner"]  # no agent from a refused sign-in


@pytest.mark.parametrize(
    ("first", "code", "error"),
    [
        ({"type": "accept", "conversation": str(uuid.UUID(int=1))}, 4401, "unauthorized"),
        (
            {
                "type": "sign_in",
                "token": "wrong",
                "agent": "eve",
                "name": "Eve",
                "capacity": {"webchat": 1},
            },
            4401,
            "unauthorized",
        ),
        ({"type": "sign_in", "token": TOKEN}, 4400, "malformed"),
        ("{", 4400, "malformed"),
    ],
)
async def test_a_websocket_that_does_not_sign_in_properly_is_told_why_and_closed(
    center: Center, http: aiohttp.ClientSession, first: Any, code: int, error: str
) -> None:
    replica = await center.replica()
    async with http.ws_connect(f"{replica.url}/ws") as socket:
        if isinstance(first, str):
            await socket.send_str(first)
        else:
            await socket.send_json(first)
        frame = await socket.receive_json(timeout=5)
        assert frame["type"] == "error" and frame["code"] == error
        closing = await socket.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == code
    async with center.store.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM agents") == 0


async def test_a_malformed_or_oversized_frame_after_sign_in_closes_the_socket(
    center: Center, http: aiohttp.ClientSession
) -> None:
    replica = await center.replica()
    ann = await SocketAgent.connect(http, replica, "ann")
    reply = str(uuid.uuid4())
    await ann.socket.send_json({"type": "send", "conversation": "nope", "id": reply, "text": "hi"})
    error = await ann.next("error")
    assert error["code"] == "malformed" and "send.conversation" in error["message"]
    assert await ann.closed() == 4400

    eve = await SocketAgent.connect(http, replica, "eve")
    await eve.socket.send_str(json.dumps({"type": "resolve", "pad": "x" * 40_000}))
    assert await eve.closed() == 1009  # message too big

    # A refused action leaves the socket open and says which conversation.
    bob = await SocketAgent.connect(http, replica, "bob")
    stranger = str(uuid.uuid4())
    await bob.socket.send_json({"type": "accept", "conversation": stranger})
    refused = await bob.next("error")
    assert (refused["code"], refused["conversation"]) == ("not_found", stranger)
    await bob.socket.send_json({"type": "availability", "available": False})
    assert (await bob.next("availability"))["available"] is False
