"""A pass-through in front of the local apiserver that records every request a client makes,
as the RBAC attributes the apiserver authorizes it by (verb, API group, resource, namespace)
and the status it answered.

The client talks plain HTTP to 127.0.0.1 with its own bearer token; the recorder forwards each
request unchanged over TLS and streams the answer back (watches included), so the apiserver
authenticates and authorizes the client exactly as it would without it. Nothing is answered
by the recorder itself.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

# Headers that belong to one hop, not to the request or answer being forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Request:
    """One request in RBAC's terms; `resource` includes a subresource (`pods/exec`). `received`
    is when it reached the recorder (time.monotonic(), which every process of the machine shares),
    before the apiserver saw it."""

    verb: str
    group: str
    resource: str
    namespace: str | None
    name: str | None
    status: int
    received: float

    @property
    def permission(self) -> tuple[str, str, str]:
        return (self.group, self.resource, self.verb)


def rbac_attributes(
    method: str, path: str, query: str
) -> tuple[str, str, str, str | None, str | None] | None:
    """(verb, group, resource, namespace, name) of a resource request; None for the
    non-resource paths (discovery, /version, /openapi) every authenticated user may read."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None  # the group version's discovery document
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource, name = rest[0], rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    watch = parse_qs(query).get("watch", ["false"])[0] in ("true", "1")
    verb = {
        "GET": "get" if name else ("watch" if watch else "list"),
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if name else "deletecollection",
    }[method]
    return verb, group, resource, namespace, name


class RequestRecorder:
    """Serves on a free loopback port in a thread of its own until `stop()`."""

    def __init__(self, apiserver: str, ca_file: str) -> None:
        self.apiserver = apiserver.rstrip("/")
        self.ca_file = ca_file
        self.requests: list[Request] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(10):
            raise AssertionError("the request recorder did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._run())

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        context = ssl.create_default_context(cafile=self.ca_file)
        # No timeout: watches stay open as long as the client wants them.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=0),
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        # A client that hangs up (a watch it ends) cancels the forwarding of its answer.
        runner = web.AppRunner(
            app, handle_signals=False, handler_cancellation=True, shutdown_timeout=1
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._started.set()
        await self._stopping.wait()
        await runner.cleanup()
        await self._session.close()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _forward(self, incoming: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        headers = {k: v for k, v in incoming.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await incoming.read()
        async with self._session.request(
            incoming.method,
            f"{self.apiserver}{incoming.rel_url}",
            headers=headers,
            data=body or None,
        ) as answer:
            attributes = rbac_attributes(incoming.method, incoming.path, incoming.query_string)
            if attributes is not None:
                self.requests.append(Request(*attributes, answer.status, received))
                if attributes[0] == "patch" and answer.status == 201:
                    # An apply patch that created the object was authorized as create too.
                    self.requests.append(
                        Request("create", *attributes[1:], answer.status, received)
                    )
            outgoing = web.StreamResponse(
                status=answer.status,
                headers={k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            await outgoing.prepare(incoming)
            async for chunk in answer.content.iter_any():
                await outgoing.write(chunk)
            await outgoing.write_eof()
            return outgoing
