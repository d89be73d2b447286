"""The contact center end to end, as a user runs it: the quickstart applied to the real
apiserver, the real operator rendering its wiring, hack/pods.py running the pods it asked for,
the session's RabbitMQ and PostgreSQL as its external queue and database, the example model
from its ConfigMap. Customers talk over the webchat WebSocket and the api channel's REST; an
agent works through the workspace's REST API.

What the customers are told is checked against the model file (what the bot should say),
what the agent sees against what the customers saw, and the store's event log and every
tier's metrics against the conversations the test played.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import yaml

from tests.integration.contactcenters import EXAMPLES
from tests.integration.operated import Operated, assert_one_consistent_log, quickstart

MODEL = yaml.safe_load((EXAMPLES / "models" / "telco-support-2.0.0.yaml").read_text())
SAYS = {intent["name"]: intent.get("response") for intent in MODEL["intents"]}
HANDOFF = MODEL["messages"]["handoff"]
FRAME_SECONDS = 15.0

CHANNELS = [{"name": "web", "type": "webchat"}, {"name": "partners", "type": "api"}]
# The quickstart's model (2.0.0) and handoff defaults (confidence below 0.6 hands off):
ANSWERED = "how do I pay my bill"  # pay_bill, confidence ~1
GOODBYE = "thanks that's all"  # goodbye (ends the conversation), confidence ~1
BEYOND_IT = "is it true that octopuses have three hearts?"  # no intent is likely: ~0.3
ASKS_FOR_A_PERSON = "I want to talk to a human"  # agent (a handoff intent), confidence ~1


class WebchatCustomer:
    """A customer's WebSocket to the webchat gateway, keeping every frame it was sent."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, conversation: uuid.UUID) -> None:
        self.socket = socket
        self.conversation = conversation
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, http: aiohttp.ClientSession, url: str, name: str) -> WebchatCustomer:
        customer = cls(await http.ws_connect(f"{url}/ws"), uuid.uuid4())
        await customer.send(type="start", conversation=str(customer.conversation), customer=name)
        assert (await customer.next("started"))["state"] == "bot"
        return customer

    async def send(self, **frame: Any) -> None:
        await self.socket.send_str(json.dumps(frame))

    async def next(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Reads frames until one of `kind` with `fields`; returns it."""
        while True:
            received = await self.socket.receive(timeout=FRAME_SECONDS)
            assert received.type is aiohttp.WSMsgType.TEXT, received
            frame: dict[str, Any] = json.loads(received.data)
            self.frames.append(frame)
            assert frame["type"] != "error", frame
            if frame["type"] == kind and fields.items() <= frame.items():
                return frame

    async def say(self, text: str) -> int:
        """Sends a message; its seq once the gateway acknowledged it."""
        message_id = str(uuid.uuid4())
        await self.send(type="message", id=message_id, text=text)
        return int((await self.next("ack", id=message_id))["seq"])

    def shown(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == "message"]

    def held(self) -> list[tuple[int, str]]:
        """(seq, id) of every message pushed or acknowledged, in the order they came: each
        once and in seq order, or this is not sorted and unique."""
        return [(f["seq"], f["id"]) for f in self.frames if f["type"] in ("message", "ack")]


class ApiCustomer:
    """A client of the api channel: starts a conversation, posts, and long-polls replies."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http = http
        self.base = f"{url}/api/v1/conversations"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conversation = uuid.uuid4()
        self.read_up_to = 0

    async def call(self, method: str, path: str, status: int = 200, **body: Any) -> Any:
        async with self.http.request(
            method, f"{self.base}{path}", json=body or None, headers=self.headers
        ) as response:
            assert response.status == status, await response.text()
            return await response.json()

    async def start(self, name: str) -> None:
        await self.call("POST", "", 201, id=str(self.conversation), customer=name)

    async def say(self, text: str) -> int:
        answer = await self.call(
            "POST", f"/{self.conversation}/messages", id=str(uuid.uuid4()), text=text
        )
        return int(answer["seq"])

    async def read(self) -> tuple[list[dict[str, Any]], str]:
        """The messages after those read so far (waiting for one), and the state."""
        answer = await self.call(
            "GET", f"/{self.conversation}/messages?after={self.read_up_to}&wait=10"
        )
        if answer["messages"]:
            self.read_up_to = answer["messages"][-1]["seq"]
        return answer["messages"], answer["state"]

    async def read_until(self, sender: str) -> dict[str, Any]:
        """Reads until a message from `sender` arrives; returns it."""
        for _ in range(5):
            messages, _ = await self.read()
            for message in messages:
                if message["sender"] == sender:
                    return message
        raise AssertionError(f"no {sender} message reached the api customer")


class Agent:
    """An agent working through the workspace's REST API."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str, agent: str) -> None:
        self.http = http
        self.base = f"{url}/api/v1/agents/{agent}"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, **body: Any) -> Any:
        async with self.http.request(
            method, f"{self.base}{path}", json=body or None, headers=self.headers
        ) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def offer(self, conversation: uuid.UUID) -> dict[str, Any]:
        """Waits for the offer of `conversation`."""
        for _ in range(5):
            for offer in (await self.call("GET", "/offers?wait=5"))["offers"]:
                if offer["conversation"] == str(conversation):
                    return dict(offer)
        raise AssertionError(f"conversation {conversation} was never offered")

    async def reply(self, conversation: uuid.UUID, text: str) -> int:
        path = f"/conversations/{conversation}/messages"
        return int((await self.call("POST", path, id=str(uuid.uuid4()), text=text))["seq"])

    async def read_after(self, conversation: uuid.UUID, seq: int) -> list[dict[str, Any]]:
        path = f"/conversations/{conversation}/messages?after={seq}&wait=10"
        return list((await self.call("GET", path))["messages"])


def texts(messages: list[dict[str, Any]], key: str = "text") -> list[tuple[str, str]]:
    return [(m["sender"], m[key]) for m in messages]


async def test_the_bot_contains_one_customer_and_an_agent_resolves_two_it_handed_off(
    operate: Any,
) -> None:
    center: Operated = operate(quickstart(channels=CHANNELS))
    web, partners = center.url("web"), center.url("partners")
    async with aiohttp.ClientSession() as http:
        # 1. Contained: answered, then a goodbye ends it with the bot.
        contained = await WebchatCustomer.start(http, web, "c-contained")
        await contained.say(ANSWERED)
        assert (await contained.next("message", sender="bot"))["text"] == SAYS["pay_bill"]
        await contained.say(GOODBYE)
        assert (await contained.next("message", sender="bot"))["text"] == SAYS["goodbye"]

        # 2. Handed off on low confidence, after one answer; resolved by an agent.
        unsure = await WebchatCustomer.start(http, web, "c-unsure")
        await unsure.say(ANSWERED)
        await unsure.next("message", sender="bot")
        asked = await unsure.say(BEYOND_IT)
        assert (await unsure.next("message", sender="bot"))["text"] == HANDOFF

        alice = Agent(http, center.url("agents"), center.token("agents-token"), "alice")
        await alice.call(
            "POST", "/sign-in", name="Alice", capacity={"webchat": 2, "api": 2}, available=True
        )
        offer = await alice.offer(unsure.conversation)
        assert (offer["reason"], offer["channel"]) == ("low_confidence", "web")
        accepted = await alice.call("POST", f"/conversations/{unsure.conversation}/accept")
        # The whole transcript, as the customer saw it (their own messages included).
        seen_by_customer = [(m["seq"], m["id"]) for m in unsure.shown()]
        transcript = accepted["messages"]
        assert {(m["seq"], m["id"]) for m in transcript} >= set(seen_by_customer)
        assert texts(transcript)[:4] == [
            ("customer", ANSWERED),
            ("bot", SAYS["pay_bill"]),
            ("customer", BEYOND_IT),
            ("bot", HANDOFF),
        ]
        assert transcript[2]["seq"] == asked
        said = await alice.reply(unsure.conversation, "Hi, Alice here. Yes, three hearts.")
        heard = await unsure.next("message", sender="agent")
        assert (heard["seq"], heard["author"]) == (said, "Alice")
        thanked = await unsure.say("wonderful, thank you")  # to the agent: the bot stays silent
        assert [m["seq"] for m in await alice.read_after(unsure.conversation, said)] == [thanked]
        await alice.call("POST", f"/conversations/{unsure.conversation}/resolve")
        closing = await unsure.next("message", sender="system")
        assert "resolved" in closing["text"], closing

        # 3. Over the api channel, asking for a person at once.
        partner = ApiCustomer(http, partners, center.token("partners-token"))
        await partner.start("c-partner")
        await partner.say(ASKS_FOR_A_PERSON)
        assert (await partner.read_until("bot"))["text"] == HANDOFF
        offer = await alice.offer(partner.conversation)
        assert (offer["reason"], offer["channel"]) == ("explicit_request", "partners")
        accepted = await alice.call("POST", f"/conversations/{partner.conversation}/accept")
        assert texts(accepted["messages"])[:2] == [
            ("customer", ASKS_FOR_A_PERSON),
            ("bot", HANDOFF),
        ]
        said = await alice.reply(partner.conversation, "Alice here: how can I help?")
        assert (await partner.read_until("agent"))["seq"] == said
        await alice.call("POST", f"/conversations/{partner.conversation}/resolve")
        _, state = await partner.read()
        assert state == "resolved"

    # The store: one consistent log per conversation.
    first = await center.stored(contained.conversation)
    assert_one_consistent_log(
        first, ["entered", "admitted", "bot_answered", "bot_answered", "resolved"]
    )
    assert first["events"][-1]["data"]["contained"] is True
    handed = ["handed_off", "offered", "accepted", "resolved"]
    second = await center.stored(unsure.conversation)
    assert_one_consistent_log(
        second, ["entered", "admitted", "bot_answered", "bot_answered", *handed]
    )
    third = await center.stored(partner.conversation)
    assert_one_consistent_log(third, ["entered", "admitted", "bot_answered", *handed])
    for found in (second, third):
        assert found["row"]["agent_id"] == "alice"
        assert [e["actor"] for e in found["events"][-3:]] == ["alice"] * 3
        # After the handoff nobody but the customer, the agent and the system spoke.
        handoff_seq = found["events"][-5]["data"]["reply"]
        later = {m["sender"] for m in found["messages"] if m["seq"] > handoff_seq}
        assert later <= {"customer", "agent", "system"}, later
    # Every stored message reached the webchat customers once: pushed, or acknowledged as theirs.
    for customer, found in ((contained, first), (unsure, second)):
        assert customer.held() == [(m["seq"], str(m["id"])) for m in found["messages"]]

    # Every tier counted what it did, where it happened.
    assert await center.metric("web", "switchboard_contacts_arrived_total") == 2
    assert await center.metric("partners", "switchboard_contacts_arrived_total") == 1
    assert await center.metric("bot", "switchboard_contacts_answered_total", handler="bot") == 3
    outcomes = {
        outcome: await center.metric(
            "bot", "switchboard_bot_conversations_total", outcome=outcome, model_version="2.0.0"
        )
        for outcome in ("contained", "escalated", "failed")
    }
    assert outcomes == {"contained": 1, "escalated": 2, "failed": 0}
    assert (
        await center.metric("agents", "switchboard_contacts_answered_total", handler="agent") == 2
    )
    assert (
        await center.metric("agents", "switchboard_handle_time_seconds_count", handler="agent") == 2
    )
