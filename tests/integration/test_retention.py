"""Retention on the real PostgreSQL: the first run only reports; then a purge removes exactly
the conversations that ended before the cutoff, with their messages and events, and nothing
open or recent; `switchboard retention` does the same from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.dataplane.retention.purge import run_retention
from switchboard.dataplane.store import Store

# (state, days since it ended or, for an open one, since it started)
CONVERSATIONS = {
    "resolved long ago": ("resolved", 40),
    "abandoned long ago": ("abandoned", 31),
    "resolved yesterday": ("resolved", 1),
    "open for months": ("agent", 100),
}
EXPIRED = {"resolved long ago", "abandoned long ago"}


@pytest.fixture
async def store(database_uri: str) -> AsyncIterator[Store]:
    store = await Store.connect(database_uri)
    await store.migrate()
    try:
        yield store
    finally:
        await store.close()


async def seed(store: Store) -> dict[str, uuid.UUID]:
    """The conversations above, each with two messages and two events."""
    ids = {}
    async with store.transaction() as connection:
        for label, (state, days) in CONVERSATIONS.items():
            ids[label] = conversation = uuid.uuid4()
            ended = state in ("resolved", "abandoned")
            await connection.execute(
                "INSERT INTO conversations (id, channel, channel_type, customer, state, track, "
                "model_version, next_seq, created_at, ended_at) VALUES ($1, 'web', 'webchat', "
                "$2, $3, 'stable', '1.0.0', 2, now() - make_interval(days => $4 + 1), "
                "CASE WHEN $5 THEN now() - make_interval(days => $4) END)",
                conversation,
                label,
                state,
                days,
                ended,
            )
            for seq, sender in ((1, "customer"), (2, "bot")):
                await connection.execute(
                    "INSERT INTO messages (conversation_id, seq, id, sender, body) "
                    "VALUES ($1, $2, $3, $4, 'my card is 4111 1111 1111 1111')",
                    conversation,
                    seq,
                    uuid.uuid4(),
                    sender,
                )
            for kind in ("created", "bot_answered"):
                await connection.execute(
                    "INSERT INTO events (conversation_id, type) VALUES ($1, $2)", conversation, kind
                )
    return ids


async def remaining(store: Store) -> dict[uuid.UUID, tuple[int, int]]:
    """Per stored conversation: (its messages, its events)."""
    rows = await store.pool.fetch(
        "SELECT c.id, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS m, "
        "(SELECT count(*) FROM events e WHERE e.conversation_id = c.id) AS e FROM conversations c"
    )
    return {row["id"]: (row["m"], row["e"]) for row in rows}


async def test_the_first_run_reports_then_a_purge_takes_only_what_ended_before_the_cutoff(
    store: Store,
) -> None:
    ids = await seed(store)
    everything = await remaining(store)

    report = await run_retention(store, 30)
    assert report.dry_run
    assert (report.conversations, report.messages, report.events) == (2, 4, 4)
    assert await remaining(store) == everything  # a dry run deletes nothing

    purged = await run_retention(store, 30)
    assert not purged.dry_run
    assert (purged.conversations, purged.messages, purged.events) == (2, 4, 4)
    kept = {label for label, conversation in ids.items() if conversation in await remaining(store)}
    assert kept == set(CONVERSATIONS) - EXPIRED
    assert all(counts == (2, 2) for counts in (await remaining(store)).values())

    again = await run_retention(store, 30)
    assert (again.dry_run, again.conversations) == (False, 0)
    runs = await store.pool.fetch("SELECT dry_run, conversations FROM retention_runs ORDER BY id")
    assert [(r["dry_run"], r["conversations"]) for r in runs] == [(True, 2), (False, 2), (False, 0)]


async def test_the_command_runs_retention_on_the_store_it_is_given(
    store: Store, database_uri: str
) -> None:
    await seed(store)

    def retention(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).with_name("switchboard")), "retention", *args],
            env={**os.environ, "SWITCHBOARD_DATABASE_URI": database_uri},
            capture_output=True,
            text=True,
            timeout=60,
        )

    first = retention("--days", "35")
    assert first.returncode == 0, first.stderr
    assert "dry run: would delete 1 conversations" in first.stderr
    assert "4111" not in first.stderr
    second = retention("--days", "35")
    assert "run: deleted 1 conversations" in second.stderr, second.stderr
    assert len(await remaining(store)) == len(CONVERSATIONS) - 1
    refused = retention("--days", "0")
    assert refused.returncode == 2 and "--days must be >= 1, got 0" in refused.stderr
