"""The agent UI's WebSocket (`/ws`): a sign-in frame first, then the agent's actions; the
server pushes offers, the queue's figures, the conversations the agent holds and their
messages (docs/dataplane.md, "The agents tier").

A frame that is not JSON, not a known frame or not valid closes the connection with an error
frame and code 4400; a missing or wrong token with 4401; an action the conversation's state
does not allow is answered with an error frame and the connection stays open.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from switchboard.dataplane.agents.hub import Connection, message_frame
from switchboard.dataplane.agents.protocol import (
    MAX_FRAME_BYTES,
    AcceptFrame,
    AvailabilityFrame,
    Frame,
    Malformed,
    ResolveFrame,
    ResumeFrame,
    SendFrame,
    SignInFrame,
    authorized,
    parse_frame,
)
from switchboard.dataplane.agents.rules import Refusal

if TYPE_CHECKING:
    from switchboard.dataplane.agents.role import Tier

logger = logging.getLogger(__name__)

SIGN_IN_SECONDS = 10.0
HEARTBEAT_SECONDS = 20.0


class Close(enum.IntEnum):
    MALFORMED = 4400
    UNAUTHORIZED = 4401
    SIGN_IN_TIMEOUT = 4408


async def serve(request: web.Request, tier: Tier, token: str) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES)
    await socket.prepare(request)
    sign_in = await _sign_in(socket, token)
    if sign_in is None:
        return socket
    workspace, hub = tier.workspace, tier.hub
    async with hub.presence(sign_in.agent):
        agent = await workspace.sign_in(sign_in.agent, sign_in)
        connection = Connection(agent, socket, workspace)
        hub.add(connection)
    try:
        await connection.send(
            {
                "type": "signed_in",
                **agent.as_json(),
                "offer_timeout_seconds": workspace.wiring.offer_timeout_seconds,
            }
        )
        await hub.refresh([agent.id])
        await connection.show_queue((await workspace.queue()).as_json())
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                await _close(socket, Close.MALFORMED, "malformed", "frames are JSON text")
                break
            try:
                frame = parse_frame(message.data)
                if isinstance(frame, SignInFrame):
                    raise Malformed("already signed in")
            except Malformed as error:
                await _close(socket, Close.MALFORMED, "malformed", str(error))
                break
            try:
                await _act(frame, connection, tier)
            except Refusal as refusal:
                await connection.send(_error(refusal.code, str(refusal), frame))
    finally:
        await hub.remove(connection)
    return socket


async def _sign_in(socket: web.WebSocketResponse, token: str) -> SignInFrame | None:
    """The first frame, if it signs in with the workspace token; else the socket is closed."""
    try:
        message = await socket.receive(timeout=SIGN_IN_SECONDS)
    except TimeoutError:
        await _close(socket, Close.SIGN_IN_TIMEOUT, "sign_in_timeout", "sign in first")
        return None
    if message.type is not WSMsgType.TEXT:
        await _close(socket, Close.MALFORMED, "malformed", "frames are JSON text")
        return None
    try:
        frame = parse_frame(message.data)
    except Malformed as error:
        await _close(socket, Close.MALFORMED, "malformed", str(error))
        return None
    if not isinstance(frame, SignInFrame):
        await _close(socket, Close.UNAUTHORIZED, "unauthorized", "sign in first")
        return None
    if not authorized(frame.token, token):
        await _close(socket, Close.UNAUTHORIZED, "unauthorized", "wrong workspace token")
        return None
    return frame


async def _act(frame: Frame, connection: Connection, tier: Tier) -> None:
    workspace, hub, agent = tier.workspace, tier.hub, connection.agent
    if isinstance(frame, AvailabilityFrame):
        connection.agent = await workspace.set_available(agent.id, frame.available)
        await connection.send({"type": "availability", "available": frame.available})
    elif isinstance(frame, AcceptFrame):
        await workspace.accept(agent, frame.conversation)
        await connection.send({"type": "accepted", "conversation": str(frame.conversation)})
        await connection.open(frame.conversation, 0)
        await hub.refresh([agent.id])
    elif isinstance(frame, ResumeFrame):
        await workspace.check_readable(agent, frame.conversation)
        await connection.open(frame.conversation, frame.after)
    elif isinstance(frame, SendFrame):
        message = await workspace.reply(agent, frame.conversation, frame.id, frame.text)
        await connection.send(
            {
                "type": "ack",
                "conversation": str(frame.conversation),
                "id": str(message.id),
                "seq": message.seq,
            }
        )
        shown = message_frame(message, masking=workspace.pii_masking)
        await connection.push(frame.conversation, message.seq, shown)
    elif isinstance(frame, ResolveFrame):
        await workspace.resolve(agent, frame.conversation)
        await hub.refresh([agent.id])


def _error(code: str, message: str, frame: Frame | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "code": code, "message": message}
    conversation = getattr(frame, "conversation", None)
    if conversation is not None:
        error["conversation"] = str(conversation)
    return error


async def _close(socket: web.WebSocketResponse, code: Close, error: str, message: str) -> None:
    """Says why in an error frame, then closes with `code` (unless the socket is closing
    already, as aiohttp does itself for a frame over the size limit: code 1009)."""
    if socket.closed:
        return
    with contextlib.suppress(ConnectionError):
        await socket.send_json(_error(error, message))
    await socket.close(code=code, message=message.encode()[:120])
