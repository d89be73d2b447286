"""A ContactCenter as a user runs it: applied to the real apiserver, reconciled by the real
operator, its pods run by hack/pods.py from the Deployments the operator applied (the kwok
nodes run no containers), its queue and database the session's RabbitMQ and PostgreSQL named
by external Secrets, its model one of examples/models as a ConfigMap.

The end-to-end tests, in code and in a browser, talk to it through the "Services" pods.py
runs, with the tokens the operator generated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from base64 import b64decode
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Secret
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.contactcenters import EXAMPLES, apply, documents, wait_for_condition
from tests.integration.dataplane_services import LocalServer
from tests.integration.kube import KUBECONFIG, REPO, kubectl, wait_until
from tests.integration.operator import Operator

QUEUE_SECRET = "contact-queue"
DATABASE_SECRET = "contact-database"


def quickstart(**spec: Any) -> dict[str, Any]:
    """examples/quickstart.yaml with its queue and database external (the Secrets of
    `external_services`), and `spec` merged over its spec."""
    manifest = next(
        d for d in documents(EXAMPLES / "quickstart.yaml") if d["kind"] == "ContactCenter"
    )
    manifest["spec"] |= {
        "queue": {"external": {"secretRef": {"name": QUEUE_SECRET}}},
        "database": {"external": {"secretRef": {"name": DATABASE_SECRET}}},
        **spec,
    }
    return manifest


def external_services(queue_uri: str, database_uri: str) -> list[dict[str, Any]]:
    """The Secrets `quickstart()` names: where its RabbitMQ and PostgreSQL are."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "stringData": {"uri": uri},
        }
        for name, uri in ((QUEUE_SECRET, queue_uri), (DATABASE_SECRET, database_uri))
    ]


class Pods:
    """hack/pods.py following one ContactCenter's Deployments in the cluster."""

    def __init__(self, namespace: str, name: str, log_path: Path, *, scrape: bool) -> None:
        self.namespace = namespace
        self.name = name
        self.log_path = log_path
        self.state_path = REPO / ".cluster" / "pods" / namespace / f"{name}.json"
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "hack" / "pods.py"),
                    namespace,
                    name,
                    *(["--prometheus"] if scrape else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
                start_new_session=True,
            )

    def state(self) -> dict[str, Any]:
        if self.process.poll() is not None:
            raise AssertionError(f"hack/pods.py exited; see {self.log_path}")
        state: dict[str, Any] = json.loads(self.state_path.read_text())
        return state

    def ready(self, deployment: str) -> list[dict[str, Any]]:
        """The ready pods of a Deployment (`<cc>-<component>`)."""
        return [
            pod
            for pod in self.state()["pods"]
            if pod["deployment"] == deployment and pod["ready"] and pod["pid"]
        ]

    def url(self, deployment: str) -> str:
        """The Deployment's "Service": a proxy over its ready pods."""
        return f"http://127.0.0.1:{self.state()['services'][deployment]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Operated:
    """A running ContactCenter and how to reach it."""

    client: Client
    namespace: str
    name: str
    database_uri: str
    pods: Pods

    def url(self, component: str) -> str:
        return self.pods.url(f"{self.name}-{component}")

    def token(self, secret: str) -> str:
        """A token the operator generated (`<cc>-agents-token`, `<cc>-<channel>-token`)."""
        body = self.client.get(Secret, f"{self.name}-{secret}", namespace=self.namespace)
        assert body.data is not None
        return b64decode(body.data["token"]).decode()

    def wait_serving(self, timeout: float = 60) -> None:
        """Until every Deployment of the ContactCenter has as many ready pods as it wants."""

        def serving() -> bool:
            deployments = list(
                self.client.list(
                    Deployment,
                    namespace=self.namespace,
                    labels={"app.kubernetes.io/instance": self.name},
                )
            )
            assert deployments
            return all(
                len(self.pods.ready(d.metadata.name)) == d.spec.replicas for d in deployments
            )

        logs = f"pods.py's log {self.pods.log_path}, the pods' under {self.pods.state_path.parent}"
        wait_until(
            f"the pods of {self.namespace}/{self.name} to serve ({logs})", serving, timeout=timeout
        )

    async def stored(self, conversation: uuid.UUID) -> dict[str, Any]:
        """The conversation's row, its messages and its event log, from the store."""
        connection = await asyncpg.connect(self.database_uri)
        try:
            row = await connection.fetchrow(
                "SELECT * FROM conversations WHERE id = $1", conversation
            )
            messages = await connection.fetch(
                "SELECT seq, id, sender, author, body FROM messages WHERE conversation_id = $1"
                " ORDER BY seq",
                conversation,
            )
            events = await connection.fetch(
                "SELECT type, actor, at, data FROM events WHERE conversation_id = $1 ORDER BY id",
                conversation,
            )
        finally:
            await connection.close()
        assert row is not None, f"conversation {conversation} is not in the store"
        return {
            "row": dict(row),
            "messages": [dict(m) for m in messages],
            "events": [dict(e) | {"data": json.loads(e["data"])} for e in events],
        }

    async def metric(self, component: str, name: str, **labels: str) -> float:
        """A series summed over the component's running pods (0 when none has it)."""
        total = 0.0
        async with aiohttp.ClientSession() as http:
            for pod in self.pods.ready(f"{self.name}-{component}"):
                url = f"http://127.0.0.1:{pod['metrics_port']}/metrics"
                async with http.get(url) as response:
                    text = await response.text()
                for family in text_string_to_metric_families(text):
                    total += sum(
                        sample.value
                        for sample in family.samples
                        if sample.name == name
                        and all(sample.labels.get(k) == v for k, v in labels.items())
                    )
        return total


def assert_one_consistent_log(found: dict[str, Any], kinds: list[str]) -> None:
    """The event log is `kinds` in order and in time; the messages are seq 1..n; every bot
    turn answers a customer message with a bot message; the row's timestamps follow the
    log."""
    row, messages, events = found["row"], found["messages"], found["events"]
    assert [e["type"] for e in events] == kinds
    times = [e["at"] for e in events]
    assert times == sorted(times), "events are logged in the order they happened"
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert row["next_seq"] == len(messages)
    sender = {m["seq"]: m["sender"] for m in messages}
    for turn in (e["data"] for e in events if e["type"] == "bot_answered"):
        assert (sender[turn["seq"]], sender[turn["reply"]]) == ("customer", "bot"), turn
    milestones: list[datetime] = [
        row[column]
        for column in (
            "created_at",
            "admitted_at",
            "bot_answered_at",
            "queued_at",
            "offered_at",
            "accepted_at",
            "ended_at",
        )
        if row[column] is not None
    ]
    assert milestones == sorted(milestones), row


@pytest.fixture
async def operate(
    client: Client,
    namespace: str,
    operator: Operator,
    rabbitmq: LocalServer,
    queue_uri: str,
    database_uri: str,
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Operated]]:
    """`operate(manifest, scrape=False)` applies the example models, the external services'
    Secrets and `manifest` to the test's namespace, waits until the operator says it is Ready
    and its pods serve, and returns it. Afterwards its pods stop and its broker names go."""
    started: list[Pods] = []

    def start(manifest: dict[str, Any], *, scrape: bool = False) -> Operated:
        models = kubectl("apply", "-n", namespace, "-k", str(EXAMPLES / "models"))
        assert models.returncode == 0, models.stderr
        apply(namespace, [*external_services(queue_uri, database_uri), manifest])
        name = manifest["metadata"]["name"]
        wait_for_condition(client, namespace, name, "Ready", timeout=60)
        pods = Pods(namespace, name, tmp_path / f"pods-{name}.log", scrape=scrape)
        started.append(pods)
        operated = Operated(client, namespace, name, database_uri, pods)
        operated.wait_serving()
        return operated

    try:
        yield start
    finally:
        for pods in started:
            pods.stop()
        await rabbitmq.delete_names_starting(f"{namespace}.")
