"""One retention run against the store: the conversations that ended before the cutoff go, with
their messages and events, in one statement (one transaction); open conversations stay,
however old. Every run is recorded in `retention_runs`; a run with no dry run recorded before
it is one, so the first thing a new retention policy does is report what it would delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from switchboard.dataplane.store import Store

# The expired conversations, then what goes with them. Data-modifying CTEs see one snapshot
# and the messages' foreign key is checked at the statement's end, when they are gone too.
_EXPIRED = (
    "WITH expired AS (SELECT id FROM conversations "
    "WHERE state IN ('resolved', 'abandoned') AND ended_at < $1)"
)
_PURGE = (
    _EXPIRED + ", messages_gone AS (DELETE FROM messages WHERE conversation_id IN "
    "(SELECT id FROM expired) RETURNING 1), "
    "events_gone AS (DELETE FROM events WHERE conversation_id IN (SELECT id FROM expired) "
    "RETURNING 1), "
    "conversations_gone AS (DELETE FROM conversations WHERE id IN (SELECT id FROM expired) "
    "RETURNING 1) "
    "SELECT (SELECT count(*) FROM conversations_gone) AS conversations, "
    "(SELECT count(*) FROM messages_gone) AS messages, "
    "(SELECT count(*) FROM events_gone) AS events"
)
_COUNT = (
    _EXPIRED + " SELECT (SELECT count(*) FROM expired) AS conversations, "
    "(SELECT count(*) FROM messages WHERE conversation_id IN (SELECT id FROM expired)) "
    "AS messages, "
    "(SELECT count(*) FROM events WHERE conversation_id IN (SELECT id FROM expired)) AS events"
)


@dataclass(frozen=True)
class RetentionRun:
    cutoff: datetime
    dry_run: bool
    conversations: int
    messages: int
    events: int

    def report(self) -> str:
        done = "would delete" if self.dry_run else "deleted"
        return (
            f"retention {'dry run' if self.dry_run else 'run'}: {done} {self.conversations} "
            f"conversations that ended before {self.cutoff.isoformat()}, with {self.messages} "
            f"messages and {self.events} events"
        )


async def run_retention(store: Store, days: int, *, dry_run: bool | None = None) -> RetentionRun:
    """Deletes (or, when `dry_run`, counts) what ended more than `days` ago, by the database's
    clock. `dry_run=None`: a dry run if none was recorded before, else a purge."""
    if days < 1:
        raise ValueError(f"retention must keep at least one day, got {days}")
    async with store.transaction() as connection:
        # One run at a time: two overlapping jobs would report each other's deletions.
        await connection.execute("LOCK TABLE retention_runs IN EXCLUSIVE MODE")
        if dry_run is None:
            dry_run = not await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM retention_runs WHERE dry_run)"
            )
        cutoff = await connection.fetchval("SELECT now() - make_interval(days => $1)", days)
        counts = await connection.fetchrow(_COUNT if dry_run else _PURGE, cutoff)
        assert counts is not None  # an aggregate always answers one row
        run = RetentionRun(
            cutoff, dry_run, counts["conversations"], counts["messages"], counts["events"]
        )
        await connection.execute(
            "INSERT INTO retention_runs (cutoff, dry_run, conversations, messages, events) "
            "VALUES ($1, $2, $3, $4, $5)",
            run.cutoff,
            run.dry_run,
            run.conversations,
            run.messages,
            run.events,
        )
    return run
