"""The data plane's figures on this machine, in one run:

- the raw broker round trip (the limit): publish → consume → publish back → consume with
  aio-pika, on quorum queues with persistent messages and publisher confirms, as the data plane
  uses them, and no application logic;
- the full path, customer message → bot reply over WebSocket, through a real gateway, bot and
  PostgreSQL: the rate sustained at saturation (and the CPU each process spends per message
  there: where the CPU goes), p50/p99 latency at 1,000 messages/s offered and at half the
  sustained rate;
- the concurrent webchat conversations one gateway process holds (each started and answered
  while all are open);
- the time to assign a handed-off contact (handoff to offer, from the event log);
- the resident memory of each role;
- lost and duplicated messages, from the clients' ledgers (docs/dataplane.md, "The load
  generator"), after every phase.

    .venv/bin/python -m bench.dataplane [--quick]

The ContactCenter is rendered by `switchboard render` and run by hack/pods.py against
hack/postgres.py and hack/rabbitmq.py (started if they are not running, and stopped again).
Clients connect to the gateway's pod directly, as a cluster's Service would route them: the
local stand-in for a Service is a Python TCP proxy whose CPU would be charged to the path.

Targets: the full path sustains >= 25% of the broker's round trips per second, with p99 <=
250 ms at 1,000 messages/s offered; one gateway holds >= 5,000 conversations; nothing lost or
shown twice. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import asyncpg
from tests.integration.dataplane_services import LocalServer
from tests.integration.local_data_plane import LocalDataPlane

from switchboard.dataplane.bot.classifier import compile_model
from switchboard.dataplane.bot.decision import Action, Memory, Understanding, decide_turn
from switchboard.dataplane.bot.model import parse_model
from switchboard.dataplane.loadgen.latency import Histogram
from switchboard.dataplane.loadgen.tally import Tally
from switchboard.dataplane.loadgen.webchat import WebchatLine
from switchboard.dataplane.topology import Topology
from switchboard.dataplane.wiring import HandoffPolicy

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "examples" / "models" / "telco-support-2.0.0.yaml"
OFFERED_PER_SECOND = 1000.0
MAX_FRAMES_PER_SECOND = 4.0
"""What one client connection sends at most (the gateway allows 5 a second)."""
OPENING_CONCURRENCY = 200
TARGET_SHARE = 0.25
TARGET_P99_MS = 250.0
TARGET_CONVERSATIONS = 5000
TICKS = os.sysconf("SC_CLK_TCK")
Say = Callable[[str], None]


@dataclass(frozen=True)
class Sizes:
    broker_seconds: float
    saturation_seconds: float
    latency_seconds: float
    saturation_lines: int
    latency_lines: int
    handoffs: int
    bot_replicas: int


FULL = Sizes(30, 40, 30, 1000, 500, 100, 2)
QUICK = Sizes(8, 15, 8, 500, 400, 30, 2)
SETTLE_SECONDS = 90.0
"""How long the replies still queued after a phase may take before its lines are checked."""
MAX_BACKLOG_SECONDS = 3.0
"""An offered load the path cannot follow stops once this many seconds of it are unanswered."""


# --- the broker's round trip ---------------------------------------------------------------


async def broker_round_trips(uri: str, seconds: float, window: int = 256) -> dict[str, float]:
    """Round trips per second and their latency: the client publishes to `ping` (confirmed),
    an echo consumer acknowledges it after publishing it on to `pong` (confirmed), the client
    consumes `pong`. `window` round trips are in flight at once."""
    topology = Topology(f"bench-{uuid.uuid4().hex[:8]}.broker")
    ping, pong = f"{topology.prefix}.ping", f"{topology.prefix}.pong"
    client = await aio_pika.connect(uri)
    echo = await aio_pika.connect(uri)
    try:
        publishing = await client.channel(publisher_confirms=True)
        for name in (ping, pong):
            await publishing.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        await asyncio.sleep(1.0)  # quorum queue registrations settle
        echo_in = await echo.channel()
        await echo_in.set_qos(prefetch_count=window)
        echo_out = await echo.channel(publisher_confirms=True)

        async def bounce(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await echo_out.default_exchange.publish(
                aio_pika.Message(message.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=pong,
            )
            await message.ack()

        await (await echo_in.get_queue(ping)).consume(bounce)
        returns = await client.channel()
        await returns.set_qos(prefetch_count=window)
        latency = Histogram()
        done = 0
        free = asyncio.Semaphore(window)
        sent_at: dict[bytes, float] = {}

        async def back(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal done
            started = sent_at.pop(message.body, None)
            if started is not None:
                latency.add(time.monotonic() - started)
                done += 1
            await message.ack()
            free.release()

        await (await returns.get_queue(pong)).consume(back)

        async def send(body: bytes) -> None:
            sent_at[body] = time.monotonic()
            await publishing.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=ping,
            )

        began = time.monotonic()
        warm_until = began + min(3.0, seconds / 4)
        counted, measured_from = 0, warm_until
        pending: set[asyncio.Task[None]] = set()
        for number in itertools.count():
            now = time.monotonic()
            if now > began + seconds:
                break
            if now < warm_until:
                counted, measured_from = done, now
            await free.acquire()
            task = asyncio.create_task(send(str(number).encode()))
            pending.add(task)
            task.add_done_callback(pending.discard)
        rate = (done - counted) / (time.monotonic() - measured_from)
        await asyncio.gather(*pending)
        for name in (ping, pong):
            await publishing.queue_delete(name)
    finally:
        await client.close()
        await echo.close()
    return {
        "per_second": rate,
        "p50_ms": (latency.quantile(0.5) or 0) * 1000,
        "p99_ms": (latency.quantile(0.99) or 0) * 1000,
    }


# --- where the CPU goes --------------------------------------------------------------------


def _stat(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def _ticks(belongs: Callable[[str, list[str]], bool]) -> int:
    """User and system CPU ticks of the live processes `belongs(pid, stat fields)` picks."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)) is not None and belongs(entry, fields):
            total += int(fields[11]) + int(fields[12])
    return total


class CpuMeter:
    """CPU seconds of each part of the path: the roles' pods (each a process group), the
    PostgreSQL server (the postmaster and its backends, which are sessions of their own) and
    RabbitMQ (its process group), and this process (the clients)."""

    def __init__(self, plane: LocalDataPlane, postgres: LocalServer, rabbitmq: LocalServer):
        self.plane = plane
        self.postmaster = str(postgres.state()["pid"])
        self.rabbitmq = str(rabbitmq.state()["group"])

    def read(self) -> dict[str, float]:
        groups = {
            part: {str(pod["pid"]) for pod in self.plane.pods(part) if pod["pid"]}
            for part in ("web", "bot", "agents")
        }
        seconds = {
            part: _ticks(lambda _, fields, g=group: fields[2] in g) / TICKS  # type: ignore[misc]
            for part, group in groups.items()
        }
        seconds["postgres"] = (
            _ticks(lambda pid, fields: self.postmaster in (pid, fields[1])) / TICKS
        )
        seconds["rabbitmq"] = _ticks(lambda _, fields: fields[2] == self.rabbitmq) / TICKS
        mine = os.times()
        seconds["clients"] = mine.user + mine.system
        return seconds


def reference_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine runs Python right now
    (about 0.35 s on an unloaded 3-4 GHz core)."""
    began = time.process_time()
    total = 0
    for number in range(5_000_000):
        total += number * number % 7
    return time.process_time() - began


# --- the data plane ------------------------------------------------------------------------


def contact_center(namespace: str, bot_replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "switchboard.io/v1alpha1",
        "kind": "ContactCenter",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "channels": [{"name": "web", "type": "webchat"}],
            "bot": {
                "model": {
                    "name": "telco-support",
                    "version": "2.0.0",
                    "uri": "configmap://telco-support-2.0.0/model.yaml",
                },
                # every conversation of the bench is served at once: the bench measures the
                # path, not the waiting for a bot slot
                "concurrency": 10000,
                "replicas": bot_replicas,
            },
            "agents": {"offerTimeout": "30s"},
        },
    }


def answered_texts() -> list[str]:
    """Customer texts the bot answers (no handoff, no goodbye): the example model's own
    examples of its other intents, each checked through the bot's own decision."""
    model = parse_model(MODEL.read_text(), str(MODEL))
    classifier = compile_model(model)
    policy = HandoffPolicy(
        confidence_threshold=0.6,
        ambiguity_margin=0.1,
        max_failed_turns=2,
        sentiment_threshold=-1.0,  # no handoff on sentiment: the texts are chosen on intent
        sentiment_drop=2.0,
        clarify=False,
    )
    texts = []
    for intent in model.intents:
        if intent.handoff or intent.ends or intent.negative:
            continue
        for text in intent.examples:
            understanding = Understanding(classifier.rank(text))
            turn = decide_turn(text, None, understanding, Memory(), policy, model)
            if turn.action is Action.ANSWER and turn.intent == intent.name:
                texts.append(text)
    return texts


def pod_url(plane: LocalDataPlane) -> str:
    """The gateway's pod, directly (see the module's doc)."""
    return f"ws://127.0.0.1:{plane.pods('web')[0]['http_port']}/ws"


@dataclass
class Integrity:
    lost: int = 0
    duplicated: int = 0


class Customers:
    """Webchat conversations of the bench, opened a few hundred at a time; each phase's are
    checked for lost and duplicated messages once their replies have come."""

    def __init__(self, http: aiohttp.ClientSession, url: str, integrity: Integrity) -> None:
        self.http = http
        self.url = url
        self.integrity = integrity

    async def open(self, count: int, tally: Tally) -> list[WebchatLine]:
        gate = asyncio.Semaphore(OPENING_CONCURRENCY)

        async def one(number: int) -> WebchatLine:
            async with gate:
                line = WebchatLine(self.http, self.url, uuid.uuid4(), f"bench-{number}", tally)
                await asyncio.wait_for(line.open(), 120)
                return line

        return list(await asyncio.gather(*(one(n) for n in range(count))))

    async def check(self, lines: Sequence[WebchatLine]) -> None:
        """Waits for what is still being answered, then each line leaves and counts what it
        lost (an acknowledged message unanswered must be in its transcript) or saw twice."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            if not any(line.ledger.unanswered() for line in lines):
                break
            await asyncio.sleep(0.5)
        gate = asyncio.Semaphore(OPENING_CONCURRENCY)

        async def one(line: WebchatLine) -> tuple[int, int]:
            async with gate:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(line.leave(), 30)
                transcript = await line.transcript() if line.ledger.unanswered() else None
                await line.close()
                return line.ledger.lost(transcript), line.ledger.duplicated

        for lost, duplicated in await asyncio.gather(*(one(line) for line in lines)):
            self.integrity.lost += lost
            self.integrity.duplicated += duplicated


async def saturation(lines: Sequence[WebchatLine], texts: Sequence[str], seconds: float) -> float:
    """Replies per second with every line in a closed loop: a message, its reply, the next
    (no more than MAX_FRAMES_PER_SECOND per line), after a warm-up."""
    replies: list[float] = []
    stop = time.monotonic() + seconds

    async def loop(line: WebchatLine, rng: random.Random) -> None:
        while (now := time.monotonic()) < stop:
            await line.say(rng.choice(texts))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(line.inbox.get(), max(stop - time.monotonic(), 0.01))
                replies.append(time.monotonic())
            await asyncio.sleep(max(0.0, now + 1 / MAX_FRAMES_PER_SECOND - time.monotonic()))

    warm = time.monotonic() + min(5.0, seconds / 4)
    await asyncio.gather(*(loop(line, random.Random(n)) for n, line in enumerate(lines)))
    return sum(1 for moment in replies if moment >= warm) / (stop - warm)


async def offered_load(
    lines: Sequence[WebchatLine], texts: Sequence[str], per_second: float, seconds: float
) -> tuple[float, float]:
    """Sends `per_second` messages over the lines in turn for `seconds`, or until
    MAX_BACKLOG_SECONDS of them wait for replies (the path cannot follow); the replies per
    second shown meanwhile, and for how long it offered (the latency is in the lines' tally)."""
    replies = 0

    async def read(line: WebchatLine) -> None:
        nonlocal replies
        while True:
            await line.inbox.get()
            replies += 1

    readers = [asyncio.create_task(read(line)) for line in lines]
    rng = random.Random(1)
    began = time.monotonic()
    turn = itertools.cycle(lines)
    sends: set[asyncio.Task[None]] = set()
    sent = 0
    while (elapsed := time.monotonic() - began) < seconds:
        if sent - replies > MAX_BACKLOG_SECONDS * per_second:
            break
        while sent < (elapsed + 0.01) * per_second:
            task = asyncio.create_task(next(turn).say(rng.choice(texts)))
            sends.add(task)
            task.add_done_callback(sends.discard)
            sent += 1
        await asyncio.sleep(0.01)
    offered_for = time.monotonic() - began
    achieved = replies / offered_for
    for reader in readers:
        reader.cancel()
    return achieved, offered_for


async def assignment_ms(
    plane: LocalDataPlane, customers: Customers, database_uri: str, handoffs: int
) -> dict[str, float]:
    """Handoff to offer: customers ask for a person, one at a time, while an agent with room
    for all of them polls its offers; from the event log's `handed_off` and `offered`."""
    agent = f"{plane.url('agents')}/api/v1/agents/bench-agent"
    headers = {"Authorization": f"Bearer {plane.agents_token}"}
    http = customers.http
    async with http.post(
        f"{agent}/sign-in",
        json={"name": "Bench", "capacity": {"webchat": 50}, "available": True},
        headers=headers,
    ) as response:
        response.raise_for_status()
    lines = await customers.open(handoffs, Tally(within_seconds=20))

    async def take_offers() -> None:
        taken: set[str] = set()
        while len(taken) < handoffs:
            async with http.get(f"{agent}/offers", params={"wait": 5}, headers=headers) as r:
                offers = (await r.json())["offers"]
            for offer in offers:
                path = f"{agent}/conversations/{offer['conversation']}"
                async with http.post(f"{path}/accept", headers=headers):
                    pass
                async with http.post(f"{path}/resolve", headers=headers):
                    pass
                taken.add(offer["conversation"])

    taking = asyncio.create_task(take_offers())
    for line in lines:  # one at a time, as customers come
        await line.say("can I talk to a person please")
        await asyncio.sleep(0.1)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(taking, 60)
    await customers.check(lines)
    store = await asyncpg.connect(database_uri)
    try:
        rows = await store.fetch(
            "SELECT extract(epoch FROM o.at - h.at) AS seconds FROM events h JOIN LATERAL ("
            "  SELECT at FROM events WHERE conversation_id = h.conversation_id "
            "  AND type = 'offered' ORDER BY id LIMIT 1) o ON true WHERE h.type = 'handed_off'"
        )
    finally:
        await store.close()
    waits = sorted(float(row["seconds"]) * 1000 for row in rows)
    return {
        "count": len(waits),
        "p50_ms": statistics.median(waits) if waits else float("nan"),
        "p99_ms": waits[min(len(waits) - 1, int(0.99 * len(waits)))] if waits else float("nan"),
    }


def rss_mib(plane: LocalDataPlane) -> dict[str, float]:
    return {part: round(max(plane.rss_kib(part)) / 1024, 1) for part in ("web", "bot", "agents")}


def quantiles_ms(histogram: Histogram) -> tuple[float, float]:
    p50, p99 = (histogram.quantile(q) for q in (0.5, 0.99))
    return (
        float("nan") if p50 is None else p50 * 1000,
        float("nan") if p99 is None else p99 * 1000,
    )


async def full_path(
    plane: LocalDataPlane,
    meter: CpuMeter,
    database_uri: str,
    sizes: Sizes,
    say: Say,
) -> dict[str, Any]:
    texts = answered_texts()
    integrity = Integrity()
    figures: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        customers = Customers(http, pod_url(plane), integrity)

        say(f"full path at saturation ({sizes.saturation_lines} conversations) ...")
        tally = Tally(within_seconds=20)
        lines = await customers.open(sizes.saturation_lines, tally)
        before, answered = meter.read(), tally.reply_latency.count
        sustained = await saturation(lines, texts, sizes.saturation_seconds)
        after, answered = meter.read(), tally.reply_latency.count - answered
        cpu = {
            part: round((after[part] - before[part]) * 1000 / max(answered, 1), 2) for part in after
        }
        await customers.check(lines)
        figures["full_path_messages_per_second"] = sustained
        figures["cpu_ms_per_message"] = cpu
        say(f"  {sustained:.0f} replies/s; CPU ms per message: {cpu}")

        for name, rate in (("half", sustained / 2), ("offered", OFFERED_PER_SECOND)):
            say(f"full path at {rate:.0f} messages/s offered ...")
            tally = Tally(within_seconds=20)
            lines = await customers.open(sizes.latency_lines, tally)
            achieved, offered_for = await offered_load(lines, texts, rate, sizes.latency_seconds)
            await customers.check(lines)
            p50, p99 = quantiles_ms(tally.reply_latency)
            figures[name] = {
                "offered_per_second": round(rate, 1),
                "achieved_per_second": round(achieved, 1),
                "offered_seconds": round(offered_for, 1),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
            }
            say(
                f"  {achieved:.0f} replies/s for {offered_for:.0f} s: p50 {p50:.0f} ms, "
                f"p99 {p99:.0f} ms"
            )
        figures["rss_mib"] = rss_mib(plane)

        say(f"{TARGET_CONVERSATIONS} conversations on one gateway ...")
        lines = await customers.open(TARGET_CONVERSATIONS, Tally(within_seconds=20))
        figures["gateway_rss_mib_at_concurrency"] = rss_mib(plane)["web"]
        rng = random.Random(2)
        gate = asyncio.Semaphore(OPENING_CONCURRENCY)

        async def answered_while_open(line: WebchatLine) -> bool:
            async with gate:
                await line.say(rng.choice(texts))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(line.inbox.get(), 60)
                    return True
                return False

        held = sum(await asyncio.gather(*(answered_while_open(line) for line in lines)))
        still_open = sum(1 for line in lines if not line.closed.is_set())
        figures["concurrent_conversations"] = min(held, still_open)
        await customers.check(lines)
        say(
            f"  {figures['concurrent_conversations']} answered while all were open; "
            f"gateway RSS {figures['gateway_rss_mib_at_concurrency']} MiB"
        )

        say(f"time to assign a handed-off contact ({sizes.handoffs}) ...")
        figures["assign"] = await assignment_ms(plane, customers, database_uri, sizes.handoffs)
        say(f"  p50 {figures['assign']['p50_ms']:.0f} ms, p99 {figures['assign']['p99_ms']:.0f} ms")
    figures["lost_messages"] = integrity.lost
    figures["duplicated_messages"] = integrity.duplicated
    return figures


# --- the run -------------------------------------------------------------------------------


@contextlib.contextmanager
def servers() -> Iterator[tuple[LocalServer, LocalServer]]:
    """hack/postgres.py and hack/rabbitmq.py, started here if they are not running."""
    started = []
    found = [LocalServer("postgres"), LocalServer("rabbitmq")]
    try:
        for server in found:
            if not server.running():
                server.up()
                started.append(server)
        yield found[0], found[1]
    finally:
        for server in started:
            server.down()


async def fresh_database(postgres: LocalServer) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres.uri)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{postgres.uri.rpartition('/')[0]}/{name}"


async def measure(sizes: Sizes, say: Say) -> dict[str, Any]:
    with servers() as (postgres, rabbitmq):
        say("broker round trip ...")
        broker = await broker_round_trips(rabbitmq.uri, sizes.broker_seconds)
        say(f"  {broker['per_second']:.0f} round trips/s, p50 {broker['p50_ms']:.1f} ms")
        database_uri = await fresh_database(postgres)
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        with tempfile.TemporaryDirectory() as directory:
            plane = LocalDataPlane(
                contact_center(namespace, sizes.bot_replicas),
                queue_uri=rabbitmq.uri,
                database_uri=database_uri,
                directory=Path(directory),
            )
            with plane:
                await asyncio.to_thread(plane.wait_ready, 120)
                meter = CpuMeter(plane, postgres, rabbitmq)
                figures = await full_path(plane, meter, database_uri, sizes, say)
            await rabbitmq.delete_names_starting(f"{namespace}.")
    return {"broker": broker, **figures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (under 5 minutes)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    began = time.monotonic()
    reference = reference_seconds()
    figures = asyncio.run(measure(sizes, say))
    broker, full = figures["broker"]["per_second"], figures["full_path_messages_per_second"]
    share = full / broker
    offered, half = figures["offered"], figures["half"]
    targets = {
        "full_path_share": share >= TARGET_SHARE,
        "p99_ms": offered["p99_ms"] <= TARGET_P99_MS
        and offered["achieved_per_second"] >= 0.95 * OFFERED_PER_SECOND,
        "concurrent_conversations": figures["concurrent_conversations"] >= TARGET_CONVERSATIONS,
        "no_loss_or_duplicates": figures["lost_messages"] == figures["duplicated_messages"] == 0,
    }
    cpu = figures["cpu_ms_per_message"]
    rows = [
        ("broker round trips/s", f"{broker:.0f} (p50 {figures['broker']['p50_ms']:.0f} ms)"),
        ("full path replies/s, sustained", f"{full:.0f} ({share:.0%} of the broker's)"),
        *(
            (
                f"at {load['offered_per_second']:.0f}/s offered",
                f"{load['achieved_per_second']:.0f}/s for {load['offered_seconds']:.0f} s, "
                f"p50 {load['p50_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms",
            )
            for load in (half, offered)
        ),
        (
            "CPU ms per message",
            ", ".join(f"{k} {v}" for k, v in cpu.items()) + f" (total {sum(cpu.values()):.1f})",
        ),
        (
            "conversations on one gateway",
            f"{figures['concurrent_conversations']} "
            f"(RSS {figures['gateway_rss_mib_at_concurrency']} MiB)",
        ),
        (
            "handoff to offer",
            f"p50 {figures['assign']['p50_ms']:.0f} ms, "
            f"p99 {figures['assign']['p99_ms']:.0f} ms ({figures['assign']['count']})",
        ),
        ("RSS MiB after the load", ", ".join(f"{k} {v}" for k, v in figures["rss_mib"].items())),
        ("lost / duplicated", f"{figures['lost_messages']} / {figures['duplicated_messages']}"),
        ("reference loop CPU s", f"{reference:.2f} (about 0.35 on an unloaded 3-4 GHz core)"),
    ]
    for name, value in rows:
        print(f"{name:<34}{value}")
    result = {
        "broker_messages_per_second": round(broker, 1),
        "broker_p50_ms": round(figures["broker"]["p50_ms"], 1),
        "full_path_messages_per_second": round(full, 1),
        "full_path_share": round(share, 3),
        "achieved_messages_per_second": offered["achieved_per_second"],
        "p50_ms": offered["p50_ms"],
        "p99_ms": offered["p99_ms"],
        "half_sustained": half,
        "cpu_ms_per_message": cpu,
        "concurrent_conversations": figures["concurrent_conversations"],
        "gateway_rss_mib_at_concurrency": figures["gateway_rss_mib_at_concurrency"],
        "assign_p50_ms": round(figures["assign"]["p50_ms"], 1),
        "assign_p99_ms": round(figures["assign"]["p99_ms"], 1),
        "rss_mib": figures["rss_mib"],
        "lost_messages": figures["lost_messages"],
        "duplicated_messages": figures["duplicated_messages"],
        "reference_loop_cpu_seconds": round(reference, 2),
        "targets_met": targets,
        "quick": args.quick,
        "seconds": round(time.monotonic() - began, 1),
    }
    print(json.dumps(result))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
