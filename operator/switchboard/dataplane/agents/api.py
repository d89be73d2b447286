"""The workspace's REST API (`/api/v1/...`), for scripts and the load generator: the same
actions as the UI's WebSocket, one request each (docs/dataplane.md, "The agents tier").

Every request carries the workspace token (`Authorization: Bearer ...`; 401 without it). A body
or parameter that is not what the API says is a 400 saying what is wrong, and nothing is stored;
an action the conversation's state does not allow is a 403, 404 or 409 with a code.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from switchboard.dataplane.agents.hub import shown
from switchboard.dataplane.agents.protocol import (
    AgentId,
    Availability,
    Malformed,
    Reply,
    SignIn,
    authorized,
    parse_body,
)
from switchboard.dataplane.agents.queries import Agent
from switchboard.dataplane.agents.rules import Refusal
from switchboard.dataplane.conversation import State
from switchboard.dataplane.waiting import set_within

if TYPE_CHECKING:
    from switchboard.dataplane.agents.role import Tier

PREFIX = "/api/v1"
LONG_POLL_MAX_SECONDS = 20.0
_AGENT_ID: TypeAdapter[str] = TypeAdapter(AgentId)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def api(token: str, tier: Callable[[], Tier]) -> web.Application:
    """The API as an application to mount at PREFIX."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        if not authorized(given, token):
            return _error(
                401,
                "unauthorized",
                "send the workspace token as `Authorization: Bearer <token>`",
                headers={"WWW-Authenticate": 'Bearer realm="switchboard-agents"'},
            )
        try:
            return await handler(request)
        except Malformed as error:
            return _error(400, "malformed", str(error))
        except Refusal as refusal:
            return _error(refusal.status, refusal.code, str(refusal))
        except web.HTTPClientError as error:  # no such route, a body over the size limit
            return _error(error.status, "http", error.reason)

    endpoints = _Endpoints(tier)
    app = web.Application(middlewares=[guard])
    agent = "/agents/{agent}"
    conversation = agent + "/conversations/{conversation}"
    app.router.add_get("/queue", endpoints.queue)
    app.router.add_post(agent + "/sign-in", endpoints.sign_in)
    app.router.add_get(agent, endpoints.status)
    app.router.add_put(agent + "/availability", endpoints.availability)
    app.router.add_get(agent + "/offers", endpoints.offers)
    app.router.add_post(conversation + "/accept", endpoints.accept)
    app.router.add_get(conversation + "/messages", endpoints.messages)
    app.router.add_post(conversation + "/messages", endpoints.reply)
    app.router.add_post(conversation + "/resolve", endpoints.resolve)
    return app


class _Endpoints:
    def __init__(self, tier: Callable[[], Tier]) -> None:
        self.tier = tier

    async def queue(self, _: web.Request) -> web.Response:
        return web.json_response((await self.tier().workspace.queue()).as_json())

    async def sign_in(self, request: web.Request) -> web.Response:
        body = parse_body(SignIn, await request.read())
        agent = await self.tier().workspace.sign_in(_agent_id(request), body)
        return web.json_response(agent.as_json())

    async def status(self, request: web.Request) -> web.Response:
        workspace = self.tier().workspace
        agent = await self._agent(request)
        seen = await workspace.seen([agent.id])
        return web.json_response(
            {
                **agent.as_json(),
                "offers": [row.as_json() for row in seen if row.state is State.OFFERED],
                "conversations": [row.as_json() for row in seen if row.state is State.AGENT],
            }
        )

    async def availability(self, request: web.Request) -> web.Response:
        body = parse_body(Availability, await request.read())
        agent = await self.tier().workspace.set_available(_agent_id(request), body.available)
        return web.json_response(agent.as_json())

    async def offers(self, request: web.Request) -> web.Response:
        """The agent's offers; with `wait`, waits that long for one if there are none."""
        tier = self.tier()
        agent = await self._agent(request)
        deadline = asyncio.get_running_loop().time() + _seconds(request, "wait")
        while True:
            changed = tier.hub.signal(agent.id)
            offers = await tier.workspace.offers(agent)
            if offers or not await _until(changed, deadline):
                return web.json_response({"offers": [row.as_json() for row in offers]})

    async def accept(self, request: web.Request) -> web.Response:
        """Accepts an offer; answers with the whole transcript."""
        workspace = self.tier().workspace
        agent = await self._agent(request)
        conversation = _conversation_id(request)
        await workspace.accept(agent, conversation)
        state, messages = await workspace.transcript(agent, conversation, 0)
        return web.json_response(
            {
                "conversation": str(conversation),
                "state": state.value,
                "messages": [shown(m, masking=workspace.pii_masking) for m in messages],
            }
        )

    async def messages(self, request: web.Request) -> web.Response:
        """Messages after `after`; with `wait`, waits that long for one if there are none."""
        tier = self.tier()
        agent = await self._agent(request)
        conversation = _conversation_id(request)
        after = _count(request, "after")
        deadline = asyncio.get_running_loop().time() + _seconds(request, "wait")
        while True:
            changed = tier.hub.signal(agent.id)
            state, messages = await tier.workspace.transcript(agent, conversation, after)
            if messages or state is not State.AGENT or not await _until(changed, deadline):
                return web.json_response(
                    {
                        "conversation": str(conversation),
                        "state": state.value,
                        "messages": [
                            shown(m, masking=tier.workspace.pii_masking) for m in messages
                        ],
                    }
                )

    async def reply(self, request: web.Request) -> web.Response:
        """Stores the agent's message; a resend of its `id` is answered with the same seq."""
        body = parse_body(Reply, await request.read())
        agent = await self._agent(request)
        message = await self.tier().workspace.reply(
            agent, _conversation_id(request), body.id, body.text
        )
        return web.json_response(
            {
                "conversation": str(message.conversation_id),
                "id": str(message.id),
                "seq": message.seq,
            }
        )

    async def resolve(self, request: web.Request) -> web.Response:
        agent = await self._agent(request)
        conversation = _conversation_id(request)
        await self.tier().workspace.resolve(agent, conversation)
        return web.json_response({"conversation": str(conversation), "state": "resolved"})

    async def _agent(self, request: web.Request) -> Agent:
        return await self.tier().workspace.here(_agent_id(request))


async def _until(event: asyncio.Event, deadline: float) -> bool:
    """Waits for `event` until `deadline`; whether it was set."""
    return await set_within(event, deadline - asyncio.get_running_loop().time())


def _agent_id(request: web.Request) -> str:
    try:
        return _AGENT_ID.validate_python(request.match_info["agent"])
    except ValidationError:
        raise Malformed(
            "the agent id is 1 to 64 letters, digits and . _ @ - (starting with a letter or digit)"
        ) from None


def _conversation_id(request: web.Request) -> uuid.UUID:
    text = request.match_info["conversation"]
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Malformed(f"conversation {text!r} is not a UUID") from None


def _count(request: web.Request, name: str) -> int:
    text = request.query.get(name, "0")
    if not text.isdigit():
        raise Malformed(f"{name}={text!r} is not a whole number >= 0")
    return int(text)


def _seconds(request: web.Request, name: str) -> float:
    text = request.query.get(name, "0")
    try:
        value = float(text)
    except ValueError:
        raise Malformed(f"{name}={text!r} is not a number of seconds") from None
    if not 0 <= value <= LONG_POLL_MAX_SECONDS:
        raise Malformed(f"{name} must be between 0 and {LONG_POLL_MAX_SECONDS:g} seconds")
    return value


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)
