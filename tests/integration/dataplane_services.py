"""Session fixtures for the data plane's servers: RabbitMQ (hack/rabbitmq.py) and PostgreSQL
(hack/postgres.py), real servers from Debian's packages running as local processes.

Each is started once per session, or reused when it already runs (`make demo` or an earlier
run left it up), and stopped afterwards only if this session started it. A server that does
not start fails the tests, never skips them. Tests that crash a server (`kill`, then `up`)
leave it running again, with its data, on the same port.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import asyncpg
import httpx
import pytest

from tests.integration.hack_scripts import hack, running
from tests.integration.kube import REPO

STATE_DIR = REPO / ".cluster"


class LocalServer:
    """One server of hack/ (`name` is its script): where to reach it, and its controls."""

    def __init__(self, name: str, state_dir: Path = STATE_DIR) -> None:
        self.name = name
        self.state_dir = state_dir

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return hack(f"{self.name}.py", "--state-dir", str(self.state_dir), *args)

    def run(self, *args: str) -> str:
        """Runs a command that must succeed; what it said (on stderr)."""
        result = self.command(*args)
        if result.returncode != 0:
            raise AssertionError(
                f"hack/{self.name}.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stderr}"
            )
        return result.stderr

    def up(self) -> str:
        return self.run("up")

    def down(self) -> str:
        return self.run("down")

    def kill(self) -> str:
        """SIGKILL to every process of the server, as a crash."""
        return self.run("kill")

    def running(self) -> bool:
        return self.command("status").returncode == 0

    @property
    def uri(self) -> str:
        """How clients reach it (with its password), while it runs."""
        return (self.state_dir / f"{self.name}-uri").read_text().strip()

    @property
    def ca(self) -> str:
        """The CA (PEM) the server's TLS certificate is signed by."""
        return (self.state_dir / f"{self.name}-ca.crt").read_text()

    async def delete_names_starting(self, start: str) -> None:
        """Deletes the broker's queues and exchanges whose names start with `start`, through
        the management API."""
        management = (self.state_dir / "rabbitmq-management-url").read_text().strip()
        amqp = urlsplit(self.uri)
        vhost = quote(unquote(amqp.path.lstrip("/")) or "/", safe="")
        auth = (unquote(amqp.username or ""), unquote(amqp.password or ""))
        # A test that killed the node leaves it restarting: its management API answers again
        # within a minute.
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=management, auth=auth, timeout=10) as api:
            while True:
                try:
                    for kind in ("queues", "exchanges"):
                        listed = await api.get(f"/api/{kind}/{vhost}", params={"columns": "name"})
                        listed.raise_for_status()
                        for item in listed.json():
                            if item["name"].startswith(start):
                                name = quote(item["name"], safe="")
                                await api.delete(f"/api/{kind}/{vhost}/{name}")
                    return
                except (httpx.TransportError, httpx.HTTPStatusError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(1)

    def state(self) -> dict[str, Any]:
        """Its ports, process ids and password, as hack/services.py keeps them."""
        state: dict[str, Any] = json.loads((self.state_dir / self.name / "state.json").read_text())
        return state


def _session_server(name: str) -> Iterator[LocalServer]:
    server = LocalServer(name)
    with running(name, server.command):
        yield server


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[LocalServer]:
    """A running RabbitMQ node; `.uri` is its AMQP URI (vhost and user of their own)."""
    yield from _session_server("rabbitmq")


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalServer]:
    """A running PostgreSQL server; `.uri` is its URI (database and user of their own)."""
    yield from _session_server("postgres")


@pytest.fixture
async def database_uri(postgres: LocalServer) -> AsyncIterator[str]:
    """A fresh, empty database of the session's PostgreSQL, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    base, _, _ = postgres.uri.rpartition("/")
    await _admin(postgres, f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    # A connection of its own: the test may have crashed the server in between. FORCE cannot end
    # a superuser's session (an autovacuum worker on it, just then): that one ends by itself.
    deadline = time.monotonic() + 30
    while True:
        try:
            await _admin(postgres, f'DROP DATABASE "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _admin(postgres: LocalServer, statement: str) -> None:
    admin = await asyncpg.connect(postgres.uri)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture
def queue_uri(rabbitmq: LocalServer) -> str:
    """The session's RabbitMQ; tests keep apart by `prefix`."""
    return rabbitmq.uri


@pytest.fixture
async def prefix(rabbitmq: LocalServer) -> AsyncIterator[str]:
    """A namespace name of the test's own: the broker's names of its contact centers start with
    it (`<namespace>.<contact center>.*`). What the test declared is deleted afterwards, so
    the session's broker does not collect quorum queues."""
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    yield namespace
    await rabbitmq.delete_names_starting(f"{namespace}.")
