"""Session fixtures for the data plane's servers: RabbitMQ (hack/rabbitmq.py) and PostgreSQL
(hack/postgres.py), real servers from Debian's packages running as local processes.

Each is started once per session, or reused when it already runs (`make demo` or an earlier
run left it up), and stopped afterwards only if this session started it. A server that does
not start fails the tests, never skips them. Tests that crash a server (`kill`, then `up`)
leave it running again, with its data, on the same port.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kube import REPO

STATE_DIR = REPO / ".cluster"


class LocalServer:
    """One server of hack/ (`name` is its script): where to reach it, and its controls."""

    def __init__(self, name: str, state_dir: Path = STATE_DIR) -> None:
        self.name = name
        self.state_dir = state_dir

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        script = REPO / "hack" / f"{self.name}.py"
        return subprocess.run(
            [sys.executable, str(script), "--state-dir", str(self.state_dir), *args],
            capture_output=True,
            text=True,
            check=False,
        )

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

    def state(self) -> dict[str, Any]:
        """Its ports, process ids and password, as hack/services.py keeps them."""
        state: dict[str, Any] = json.loads((self.state_dir / self.name / "state.json").read_text())
        return state


def _session_server(name: str) -> Iterator[LocalServer]:
    server = LocalServer(name)
    started_here = not server.running()
    if started_here:
        result = server.command("up")
        if result.returncode != 0:
            pytest.fail(f"{name} did not start:\n{result.stderr}", pytrace=False)
    try:
        yield server
    finally:
        if started_here:
            server.down()


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[LocalServer]:
    """A running RabbitMQ node; `.uri` is its AMQP URI (vhost and user of their own)."""
    yield from _session_server("rabbitmq")


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalServer]:
    """A running PostgreSQL server; `.uri` is its URI (database and user of their own)."""
    yield from _session_server("postgres")
