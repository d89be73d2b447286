"""Plays one conversation on a ContactCenter that hack/pods.py runs, and prints it as a
transcript: a customer on the webchat page's WebSocket asks the bot a question, then asks for
a person; an agent signs in to the workspace (its REST API, with the token the operator
generated), accepts the offer and sees the whole transcript, replies; the customer thanks
them and the agent resolves. Then the conversation's event log, from the store.

    python hack/demo_conversation.py NAMESPACE CONTACT_CENTER --channel web --database URI
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import textwrap
import uuid
from base64 import b64decode
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

REPO = Path(__file__).resolve().parent.parent
KUBECTL = REPO / "bin" / "kubectl"
WAIT_SECONDS = 20.0
WIDTH = 96


def show(who: str, text: str) -> None:
    lines = textwrap.wrap(text, WIDTH - 14) or [""]
    print(f"  {who:>10}  {lines[0]}")
    for line in lines[1:]:
        print(f"  {'':>10}  {line}")


def note(text: str) -> None:
    print(f"  {'':>10}  ({text})")


def token(namespace: str, secret: str) -> str:
    out = subprocess.run(
        [str(KUBECTL), "get", "secret", secret, "-n", namespace, "-o", "jsonpath={.data.token}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return b64decode(out.stdout).decode()


class Customer:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.conversation = uuid.uuid4()

    async def frame(self) -> dict[str, Any]:
        received = await self.socket.receive(timeout=WAIT_SECONDS)
        if received.type is not aiohttp.WSMsgType.TEXT:
            raise SystemExit(f"the gateway closed the connection: {received}")
        frame: dict[str, Any] = json.loads(received.data)
        if frame["type"] == "error":
            raise SystemExit(f"the gateway refused: {frame}")
        return frame

    async def say(self, text: str) -> None:
        show("customer", text)
        message = str(uuid.uuid4())
        await self.socket.send_str(json.dumps({"type": "message", "id": message, "text": text}))
        while (await self.frame()).get("id") != message:
            pass  # its acknowledgement: stored and handed on

    async def hear(self, sender: str) -> None:
        """Prints what the customer is shown, up to the next message from `sender`."""
        while True:
            frame = await self.frame()
            if frame["type"] == "message":
                author = frame["author"] if frame["sender"] == "agent" else frame["sender"]
                show(author, frame["text"])
                if frame["sender"] == sender:
                    return


async def play(args: argparse.Namespace) -> None:
    state = json.loads(
        (REPO / ".cluster" / "pods" / args.namespace / f"{args.name}.json").read_text()
    )
    gateway = f"http://127.0.0.1:{state['services'][f'{args.name}-{args.channel}']}"
    workspace = f"http://127.0.0.1:{state['services'][f'{args.name}-agents']}/api/v1/agents/ada"
    headers = {"Authorization": f"Bearer {token(args.namespace, f'{args.name}-agents-token')}"}

    async with aiohttp.ClientSession(headers=headers) as agent, aiohttp.ClientSession() as web:

        async def call(method: str, path: str, **body: Any) -> Any:
            async with agent.request(method, workspace + path, json=body or None) as response:
                response.raise_for_status()
                return await response.json()

        customer = Customer(await web.ws_connect(f"{gateway}/ws"))
        start = {"type": "start", "conversation": str(customer.conversation), "customer": "sam"}
        await customer.socket.send_str(json.dumps(start))
        await customer.frame()
        print(f"customer sam, on {gateway}/ (webchat), conversation {customer.conversation}:")
        await customer.say("how do I pay my bill?")
        await customer.hear("bot")
        await customer.say("can I speak to a person please")
        await customer.hear("bot")

        await call("POST", "/sign-in", name="Ada", capacity={"webchat": 2}, available=True)
        offers = (await call("GET", "/offers?wait=10"))["offers"]
        offer = next(o for o in offers if o["conversation"] == str(customer.conversation))
        waited = offer["waited_seconds"]
        note(f"handed off ({offer['reason']}); offered to agent Ada after {waited} s")
        accepted = await call("POST", f"/conversations/{customer.conversation}/accept")
        note(f"Ada accepts and sees the whole transcript: {len(accepted['messages'])} messages")
        await call(
            "POST",
            f"/conversations/{customer.conversation}/messages",
            id=str(uuid.uuid4()),
            text="Hi Sam, Ada here. I can see you asked about paying your bill: shall I set up "
            "a direct debit for you?",
        )
        await customer.hear("agent")
        await customer.say("yes please, that would be great")
        await call("POST", f"/conversations/{customer.conversation}/resolve")
        await customer.hear("system")

    connection = await asyncpg.connect(args.database)
    try:
        events = await connection.fetch(
            "SELECT type, actor FROM events WHERE conversation_id = $1 ORDER BY id",
            customer.conversation,
        )
    finally:
        await connection.close()
    print("\nits event log in the store:")
    log = " → ".join(f"{e['type']} ({e['actor']})" for e in events)
    print(
        textwrap.fill(
            log, WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("namespace")
    parser.add_argument("name", help="the ContactCenter")
    parser.add_argument("--channel", required=True, help="a webchat channel of it")
    parser.add_argument("--database", required=True, help="its database's URI")
    asyncio.run(play(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
