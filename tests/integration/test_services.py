"""The data plane's servers as hack/ runs them (real RabbitMQ and PostgreSQL from Debian's
packages): what a crash keeps, and that starting and stopping them does what it says.

The crash tests kill the session's servers with SIGKILL to every process (nothing is
flushed or closed) and start them again; clients must find them at the same URI.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import aio_pika
import asyncpg
import pytest

from tests.integration.dataplane_services import LocalServer

MESSAGES = 200
# RabbitMQ 3.10's Ra writes a new queue's registration to disk every 500 ms (a dets
# auto-save): a node killed sooner after the declaration comes back without the queue's
# state. The data plane declares its queues when it starts, long before any crash.
REGISTRATION_SAVED_SECONDS = 1.0
LOOPBACK = {"127.0.0.1", "[::1]"}


def _processes() -> dict[int, tuple[int, int]]:
    """Every live (not zombie) process: pid -> (parent pid, process group)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return found


def _server_processes(group: int) -> set[int]:
    """The server's process group and whatever its members started, whichever group or
    session those joined (Erlang's port helpers make sessions of their own)."""
    processes = _processes()
    family = {pid for pid, (_, pgrp) in processes.items() if pgrp == group}
    grown = True
    while grown:
        children = {pid for pid, (parent, _) in processes.items() if parent in family}
        grown = not children <= family
        family |= children
    return family


async def test_a_quorum_queue_keeps_confirmed_messages_through_a_kill(
    rabbitmq: LocalServer,
) -> None:
    name = f"kill-test-{uuid.uuid4().hex[:8]}"
    bodies = [f"message {index}".encode() for index in range(MESSAGES)]
    connection = await aio_pika.connect(rabbitmq.uri)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        await asyncio.sleep(REGISTRATION_SAVED_SECONDS)
        for body in bodies:
            # Returns once the broker confirmed the message: stored on disk by the queue.
            await channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=name,
            )
    uri, pid = rabbitmq.uri, rabbitmq.state()["pid"]

    await asyncio.to_thread(rabbitmq.kill)
    await asyncio.to_thread(rabbitmq.up)

    assert rabbitmq.state()["pid"] != pid, "a new node, not the old one still running"
    assert rabbitmq.uri == uri, "clients find it again where it was"
    connection = await aio_pika.connect(rabbitmq.uri)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name)  # passive: fails if the queue is gone
        received = []
        while (message := await queue.get(fail=False, timeout=30)) is not None:
            received.append(message.body)
            await message.ack()
        await queue.delete(if_unused=False, if_empty=False)
    assert received == bodies


async def test_a_committed_row_survives_a_kill_and_an_uncommitted_one_does_not(
    postgres: LocalServer,
) -> None:
    table = f"kill_test_{uuid.uuid4().hex[:8]}"
    writer = await asyncpg.connect(postgres.uri)
    await writer.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text NOT NULL)")
    await writer.execute(f"INSERT INTO {table} VALUES (1, 'committed')")
    pending = await asyncpg.connect(postgres.uri)
    await pending.execute(f"BEGIN; INSERT INTO {table} VALUES (2, 'never committed')")
    uri, pid = postgres.uri, postgres.state()["pid"]
    log = postgres.state_dir / "logs" / "postgres.log"
    logged_before = log.stat().st_size

    await asyncio.to_thread(postgres.kill)
    await asyncio.to_thread(postgres.up)

    writer.terminate()
    pending.terminate()
    assert postgres.state()["pid"] != pid
    assert postgres.uri == uri
    assert b"was not properly shut down" in log.read_bytes()[logged_before:], "a crash"
    reader = await asyncpg.connect(postgres.uri)
    try:
        rows = await reader.fetch(f"SELECT id, note FROM {table} ORDER BY id")
        assert [tuple(row) for row in rows] == [(1, "committed")]
    finally:
        await reader.execute(f"DROP TABLE {table}")
        await reader.close()


@pytest.mark.parametrize("name", ["rabbitmq", "postgres"])
def test_up_while_running_changes_nothing(name: str, request: pytest.FixtureRequest) -> None:
    server: LocalServer = request.getfixturevalue(name)
    state, uri = server.state(), server.uri

    said = server.up()

    assert "already running" in said
    assert server.state() == state, "same process, ports and password"
    assert server.uri == uri


@pytest.mark.parametrize("name", ["rabbitmq", "postgres"])
def test_down_leaves_no_process_behind(name: str, tmp_path: Path) -> None:
    """A second instance of its own (the session's keeps running): as root, PostgreSQL's
    data then lives outside the state dir, which its user cannot reach under pytest's
    private temporary directory."""
    server = LocalServer(name, tmp_path)
    server.up()
    try:
        state = server.state()
        processes = _server_processes(state["group"])
        assert state["pid"] in processes
        assert len(processes) > 1, f"{name} runs helpers as well: {processes}"
        server.down()
        assert not processes & set(_processes()), "still running after down"
        listening = _listening_addresses()
        assert not [port for port in state["ports"].values() if port in listening]
        assert not server.running()
        assert not (tmp_path / f"{name}-uri").exists()
    finally:
        server.run("purge")
    assert not (tmp_path / name).exists()


def test_the_servers_listen_on_loopback_only(rabbitmq: LocalServer, postgres: LocalServer) -> None:
    """No port of theirs is reachable from another address of this machine (epmd adds the
    IPv6 loopback address to the one it is given)."""
    listening = _listening_addresses()
    for server in (rabbitmq, postgres):
        for name, port in server.state()["ports"].items():
            assert listening.get(port), f"nothing listens on {server.name}'s {name} port {port}"
            assert listening[port] <= LOOPBACK, f"{server.name}'s {name} port: {listening[port]}"


def _listening_addresses() -> dict[int, set[str]]:
    """Port -> the local addresses TCP sockets listen on."""
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True)
    addresses: dict[int, set[str]] = {}
    for line in listening.stdout.splitlines():
        address, _, port = line.split()[3].rpartition(":")
        addresses.setdefault(int(port), set()).add(address)
    return addresses
