"""Running `switchboard loadgen` against a LocalDataPlane, and checking what it was told
against the store: the tests of the load generator and the kill tests share these."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.integration.kube import REPO
from tests.integration.local_data_plane import LocalDataPlane

SWITCHBOARD = REPO / ".venv" / "bin" / "switchboard"
MODELS = REPO / "examples" / "models"


def contact_center(namespace: str, *, gateways: int = 1) -> dict[str, Any]:
    """A webchat and an api channel, the better example model, a workspace whose offers
    expire after 10 s."""
    return {
        "apiVersion": "switchboard.io/v1alpha1",
        "kind": "ContactCenter",
        "metadata": {"name": "load", "namespace": namespace},
        "spec": {
            "channels": [
                {"name": "web", "type": "webchat", "replicas": gateways},
                {"name": "partners", "type": "api", "replicas": gateways},
            ],
            "bot": {
                "model": {
                    "name": "telco-support",
                    "version": "2.0.0",
                    "uri": "configmap://telco-support-2.0.0/model.yaml",
                }
            },
            "agents": {"offerTimeout": "10s"},
        },
    }


@dataclass
class Finished:
    code: int
    report: dict[str, Any]
    conversations: list[dict[str, Any]]
    """Per conversation: what its customer was acknowledged and shown, (seq, id)."""
    output: str


class Loadgen:
    """`switchboard loadgen` as a process, against the plane's gateways and workspace."""

    def __init__(self, plane: LocalDataPlane, directory: Path) -> None:
        self.plane = plane
        self.directory = directory
        self.report = directory / "report.json"
        self.conversations = directory / "conversations.jsonl"
        self.log = directory / "loadgen.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        plane, directory = self.plane, self.directory
        (directory / "api-token").write_text(plane.api_token("partners"))
        (directory / "agents-token").write_text(plane.agents_token)
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(SWITCHBOARD),
                "loadgen",
                "--webchat", plane.url("web"),
                "--api", plane.url("partners"),
                "--api-token-file", str(directory / "api-token"),
                "--agents-url", plane.url("agents"),
                "--agents-token-file", str(directory / "agents-token"),
                "--corpus", str(MODELS / "telco-corpus.yaml"),
                "--model", str(MODELS / "telco-support-2.0.0.yaml"),
                "--profile", "flat",
                "--report", str(self.report),
                "--conversations", str(self.conversations),
                "--progress", "5",
                *args,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

    async def finish(self) -> Finished:
        assert self.process is not None
        code = await self.process.wait()
        output = self.log.read_text()
        assert code in (0, 1), f"loadgen failed ({code}):\n{output}"
        lines = self.conversations.read_text().splitlines()
        return Finished(
            code, json.loads(self.report.read_text()), [json.loads(line) for line in lines], output
        )


async def run_loadgen(plane: LocalDataPlane, directory: Path, *args: str) -> Finished:
    loadgen = Loadgen(plane, directory)
    await loadgen.start(*args)
    return await loadgen.finish()


async def check_store(database_uri: str, finished: Finished) -> None:
    """What every customer was acknowledged and shown is what the store holds: each
    acknowledged message under its seq (once: ids are unique), each shown message as shown;
    and the bot answered each customer message at most once."""
    store = await asyncpg.connect(database_uri)
    try:
        rows = await store.fetch("SELECT conversation_id, seq, id FROM messages")
        stored = {(row["conversation_id"], row["seq"]): row["id"] for row in rows}
        for conversation in finished.conversations:
            key = uuid.UUID(conversation["conversation"])
            for seq, message_id in conversation["acknowledged"]:
                assert stored.get((key, seq)) == uuid.UUID(message_id), (
                    f"acknowledged message {message_id} is not seq {seq} of {key}"
                )
            for seq, message_id in conversation["shown"]:
                assert stored.get((key, seq)) == uuid.UUID(message_id), (
                    f"shown message {message_id} is not seq {seq} of {key}"
                )
        twice = await store.fetch(
            "SELECT conversation_id, data->>'seq' AS seq, count(*) FROM events "
            "WHERE type = 'bot_answered' GROUP BY 1, 2 HAVING count(*) > 1"
        )
        assert not twice, f"customer messages the bot answered twice: {twice}"
    finally:
        await store.close()
