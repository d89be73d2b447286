"""`kill -9` during load: a gateway, the bot, the agent workspace, RabbitMQ or PostgreSQL dies
while `switchboard loadgen` plays customers and agents, and comes back (pods.py restarts pods
as a kubelet would; the servers by hack/*.py `up`). No acknowledged message may be lost and
none shown twice: checked from the load generator's integrity counters and against the store
(every acknowledged message stored under its seq, every shown message as shown, no customer
message answered twice by the bot).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.dataplane_services import LocalServer
from tests.integration.loadgen_runs import Loadgen, check_store, contact_center
from tests.integration.local_data_plane import LocalDataPlane

LOAD = (
    "--peak-rate", "1.5",
    "--duration", "45",
    "--think", "1",
    "--patience", "90",
    "--agents", "3",
    "--agent-capacity", "2",
    "--agent-reply", "1",
    "--aht", "8",
    "--aht-cv", "0.5",
    "--drain", "90",
)  # fmt: skip
KILL_AFTER_SECONDS = 15.0


@pytest.fixture
def plane(
    database_uri: str, queue_uri: str, prefix: str, tmp_path: Path
) -> Iterator[LocalDataPlane]:
    with LocalDataPlane(
        contact_center(prefix), queue_uri=queue_uri, database_uri=database_uri, directory=tmp_path
    ) as running:
        running.wait_ready(timeout=90)
        yield running


def kill_pods(*parts: str) -> Callable[[LocalDataPlane, LocalServer, LocalServer], None]:
    def kill(plane: LocalDataPlane, _rabbitmq: LocalServer, _postgres: LocalServer) -> None:
        for killed in [plane.kill(part) for part in parts]:
            plane.wait_restarted(killed)

    return kill


def crash_rabbitmq(_plane: LocalDataPlane, rabbitmq: LocalServer, _postgres: LocalServer) -> None:
    rabbitmq.kill()
    rabbitmq.up()


def crash_postgres(_plane: LocalDataPlane, _rabbitmq: LocalServer, postgres: LocalServer) -> None:
    postgres.kill()
    postgres.up()


@pytest.mark.parametrize(
    "crash",
    [
        pytest.param(kill_pods("web", "partners"), id="gateways"),
        pytest.param(kill_pods("bot"), id="bot"),
        pytest.param(kill_pods("agents"), id="workspace"),
        pytest.param(crash_rabbitmq, id="rabbitmq"),
        pytest.param(crash_postgres, id="postgresql"),
    ],
)
async def test_a_crash_during_load_loses_nothing_and_shows_nothing_twice(
    crash: Callable[[LocalDataPlane, LocalServer, LocalServer], None],
    plane: LocalDataPlane,
    rabbitmq: LocalServer,
    postgres: LocalServer,
    database_uri: str,
    tmp_path: Path,
) -> None:
    loadgen = Loadgen(plane, tmp_path)
    await loadgen.start(*LOAD)
    await asyncio.sleep(KILL_AFTER_SECONDS)
    await asyncio.to_thread(crash, plane, rabbitmq, postgres)
    finished = await loadgen.finish()
    report, output = finished.report, finished.output
    assert report["lost_messages"] == 0, output
    assert report["duplicated_messages"] == 0, output
    assert report["out_of_order_messages"] == 0, output
    assert finished.code == 0, output
    conversations = report["conversations"]
    assert conversations["started"] >= 30, output
    assert conversations["unfinished"] == 0, output
    assert len(finished.conversations) == conversations["finished"]
    await check_store(database_uri, finished)
    plane.wait_ready(timeout=60)  # everything killed is back
