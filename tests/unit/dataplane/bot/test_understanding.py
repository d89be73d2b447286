"""Remote models: what the bot sends its endpoint, and every way an answer can fail a turn."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.bot.understanding import MAX_RESPONSE_BYTES, Asking, Line

CONVERSATION = uuid.UUID("6a0c3bc4-5b37-4bfe-9d64-7f2f1b0b4c11")


def remote_model(url: str) -> DialogueModel:
    return DialogueModel.model_validate(
        {
            "format": "switchboard.io/dialogue-model/v1",
            "name": "llm-support",
            "version": "0.3.0",
            "kind": "remote",
            "remote": {"url": url, "timeoutSeconds": 0.5},
            "language": "en",
            "messages": {"fallback": "Again?", "handoff": "Passing you on."},
            "intents": [
                {"name": "bill", "response": "In the app."},
                {"name": "human", "handoff": True},
            ],
        }
    )


class Endpoint:
    """A local NLU endpoint whose next answer the test sets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[str | None] = []
        self.status = 200
        self.body: bytes = b"{}"
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        self.headers.append(request.headers.get("Authorization"))
        await asyncio.sleep(self.delay)
        return web.Response(status=self.status, body=self.body, content_type="application/json")


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[Endpoint, str]]:
    served = Endpoint()
    app = web.Application()
    app.router.add_post("/parse", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield served, f"http://127.0.0.1:{runner.addresses[0][1]}/parse"
    finally:
        await runner.cleanup()


async def ask(url: str, token: str | None = None) -> Any:
    async with aiohttp.ClientSession() as session:
        asking = Asking(remote_model(url), session, token)
        history = [Line("customer", "hi"), Line("bot", "Hello!")]
        return await asking.understand("what's my bill", CONVERSATION, history)


async def test_the_endpoint_gets_the_message_the_conversation_and_its_history(
    endpoint: tuple[Endpoint, str],
) -> None:
    served, url = endpoint
    served.body = json.dumps(
        {
            "intents": [{"name": "human", "confidence": 0.1}, {"name": "bill", "confidence": 0.9}],
            "response": "Your bill is 20.",
        }
    ).encode()
    understanding = await ask(url, token="s3cret")
    assert understanding.ranking == (("bill", 0.9), ("human", 0.1))  # ranked by the bot
    assert understanding.response == "Your bill is 20."
    assert served.requests == [
        {
            "text": "what's my bill",
            "conversation": str(CONVERSATION),
            "history": [
                {"sender": "customer", "text": "hi"},
                {"sender": "bot", "text": "Hello!"},
            ],
            "model": {"name": "llm-support", "version": "0.3.0"},
        }
    ]
    assert served.headers == ["Bearer s3cret"]


@pytest.mark.parametrize(
    ("status", "body", "delay"),
    [
        (500, b'{"intents": []}', 0.0),  # an error status
        (200, b'{"intents": [{"name": "bill", "confidence": 0.9}]}', 1.0),  # past the timeout
        (200, b"not json", 0.0),
        (200, b'{"intents": [{"name": "bill", "confidence": 1.5}]}', 0.0),
        (200, b'{"intents": [{"name": "refund", "confidence": 0.9}]}', 0.0),  # unknown intent
        (200, b'{"response": "hi"}', 0.0),  # no ranking
        (200, b'{"intents": [], "pad": "' + b"x" * MAX_RESPONSE_BYTES + b'"}', 0.0),
    ],
)
async def test_an_endpoint_that_does_not_answer_properly_fails_the_turn(
    endpoint: tuple[Endpoint, str], status: int, body: bytes, delay: float
) -> None:
    served, url = endpoint
    served.status, served.body, served.delay = status, body, delay
    assert await ask(url) is None
    assert served.headers == [None]  # no token configured, no Authorization header


async def test_an_endpoint_that_is_not_there_fails_the_turn() -> None:
    assert await ask("http://127.0.0.1:9/parse") is None
