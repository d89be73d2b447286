"""`switchboard loadgen` against the real data plane (rendered, run by hack/pods.py): what it
counts is what the store and the gateways' metrics saw.

The store is the independent reference: every conversation the load generator started is a
row; every message it was acknowledged is stored once; the bot's replies it was shown are the
bot's messages; what it counted as contained, handed off and abandoned is what the events say.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from switchboard.dataplane.conversation import reply_id
from tests.integration.loadgen_runs import check_store, contact_center, run_loadgen
from tests.integration.local_data_plane import LocalDataPlane


@pytest.fixture
def plane(
    database_uri: str, queue_uri: str, prefix: str, tmp_path: Path
) -> Iterator[LocalDataPlane]:
    manifest = contact_center(prefix)
    with LocalDataPlane(
        manifest, queue_uri=queue_uri, database_uri=database_uri, directory=tmp_path
    ) as running:
        running.wait_ready(timeout=90)
        yield running


async def arrivals(plane: LocalDataPlane) -> float:
    """switchboard_contacts_arrived_total over the gateways' pods."""
    total = 0.0
    async with aiohttp.ClientSession() as http:
        for part in ("web", "partners"):
            for pod in plane.pods(part):
                async with http.get(f"http://127.0.0.1:{pod['metrics_port']}/metrics") as r:
                    text = await r.text()
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name == "switchboard_contacts_arrived_total":
                            total += sample.value
    return total


async def test_a_load_run_counts_what_the_store_and_the_metrics_saw(
    plane: LocalDataPlane, database_uri: str, tmp_path: Path
) -> None:
    finished = await run_loadgen(
        plane,
        tmp_path,
        "--peak-rate", "1",
        "--duration", "40",
        "--think", "1",
        "--patience", "60",
        "--agents", "3",
        "--agent-capacity", "2",
        "--agent-reply", "1",
        "--aht", "8",
        "--aht-cv", "0.5",
        "--drain", "60",
    )  # fmt: skip
    code, report, output = finished.code, finished.report, finished.output
    assert code == 0, output
    conversations, messages = report["conversations"], report["messages"]
    assert report["lost_messages"] == report["duplicated_messages"] == 0, output
    assert report["out_of_order_messages"] == 0, output
    assert conversations["started"] >= 20, output
    assert conversations["unfinished"] == 0, output
    assert conversations["contained"] > 0 and conversations["handed_off"] > 0, output
    assert report["answered_within_sla"]["agent"]["answered"] > 0, output
    assert messages["acknowledged"] == messages["sent"], output

    store = await asyncpg.connect(database_uri)
    try:
        by_channel: dict[str, int] = {
            row["channel"]: row["count"]
            for row in await store.fetch(
                "SELECT channel, count(*) FROM conversations GROUP BY channel"
            )
        }
        assert sum(by_channel.values()) == conversations["started"]
        assert set(by_channel) == {"web", "partners"}  # both channels were played
        customer = await store.fetch(
            "SELECT id, conversation_id, seq FROM messages WHERE sender = 'customer'"
        )
        # every acknowledged message is stored, once (ids are unique in the table)
        assert len(customer) == messages["acknowledged"]
        bot = await store.fetch("SELECT id FROM messages WHERE sender = 'bot'")
        answered_by_bot = {reply_id(row["id"]) for row in customer}
        assert {row["id"] for row in bot} <= answered_by_bot  # each reply answers one message
        assert len(bot) == messages["answered_by"]["bot"]  # and each was shown
        outcomes = await store.fetchrow(
            "SELECT count(*) FILTER (WHERE state = 'abandoned') AS abandoned, "
            "count(*) FILTER (WHERE state = 'resolved' AND NOT EXISTS (SELECT 1 FROM events e "
            "  WHERE e.conversation_id = c.id AND e.type = 'handed_off')) AS contained, "
            "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events e "
            "  WHERE e.conversation_id = c.id AND e.type = 'handed_off')) AS handed_off, "
            "count(*) FILTER (WHERE state NOT IN ('resolved', 'abandoned')) AS open "
            "FROM conversations c"
        )
        assert dict(outcomes) == {
            "abandoned": conversations["abandoned"],
            "contained": conversations["contained"],
            "handed_off": conversations["handed_off"],
            "open": 0,
        }
    finally:
        await store.close()
    assert await arrivals(plane) == conversations["started"]
    await check_store(database_uri, finished)


async def test_customers_waiting_for_nobody_lose_patience_and_abandon(
    plane: LocalDataPlane, database_uri: str, tmp_path: Path
) -> None:
    finished = await run_loadgen(
        plane,
        tmp_path,
        "--peak-rate", "1.5",
        "--duration", "20",
        "--think", "0.5",
        "--patience", "3",
        "--agents", "0",
        "--drain", "30",
    )  # fmt: skip
    code, report, output = finished.code, finished.report, finished.output
    assert code == 0, output
    conversations = report["conversations"]
    assert conversations["abandoned"] > 0, output
    assert report["answered_within_sla"]["agent"]["answered"] == 0
    store = await asyncpg.connect(database_uri)
    try:
        abandoned = await store.fetchval(
            "SELECT count(*) FROM conversations c WHERE state = 'abandoned' AND EXISTS "
            "(SELECT 1 FROM events e WHERE e.conversation_id = c.id AND e.type = 'handed_off')"
        )
        total = await store.fetchval("SELECT count(*) FROM conversations WHERE state = 'abandoned'")
    finally:
        await store.close()
    # nobody took the handed-off customers: they all left the queue
    assert abandoned == conversations["handed_off"] > 0
    assert total == conversations["abandoned"]
