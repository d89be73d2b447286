"""Integration fixtures: the real local control plane (hack/cluster.py), started once per
session or reused when it already runs, and a Pod Security `restricted` namespace per test.

A missing cluster is a failure, never a skip: the fixture starts it, and a start that fails
fails the tests.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, KubeConfig

from tests.integration.dataplane_services import (  # noqa: F401 (fixtures)
    database_uri,
    postgres,
    prefix,
    queue_uri,
    rabbitmq,
)
from tests.integration.hack_scripts import hack, running
from tests.integration.kube import KUBECONFIG, REPO, restricted_namespace, wait_until
from tests.integration.operated import operate  # noqa: F401 (fixture)
from tests.integration.operator import Operator, install_crd


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """The admin kubeconfig of a running local cluster; stops the cluster afterwards only
    if this session started it."""
    with running("the local cluster", functools.partial(hack, "cluster.py")):
        yield KUBECONFIG


@pytest.fixture(scope="session")
def client(kubeconfig: Path) -> Client:
    return Client(config=KubeConfig.from_file(str(kubeconfig)), field_manager="switchboard-tests")


@pytest.fixture
def namespace(client: Client) -> Iterator[str]:
    """A fresh namespace enforcing Pod Security `restricted`, deleted after the test; its
    name matches the session operator's `t-*`."""
    with restricted_namespace(client, "t") as name:
        yield name


@pytest.fixture(scope="session")
def operator(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    """The operator, running for the whole session, watching the test namespaces (`t-*`):
    namespaces outside that glob prove it leaves unwatched ones alone."""
    install_crd()
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    running = Operator(scope=["--namespace", "t-*"], log_path=log_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        print(f"operator log: {log_path}")


# --- Prometheus (hack/prometheus.py) and simulators it scrapes ------------------------------


class LocalPrometheus:
    """The session's Prometheus: its URL, and its scrape targets, changed while it runs."""

    def __init__(self, url: str) -> None:
        self.url = url

    def add_target(self, address: str, labels: dict[str, str] | None = None) -> None:
        pairs = [f"{name}={value}" for name, value in (labels or {}).items()]
        result = hack("prometheus.py", "targets", "add", address, "--labels", *pairs)
        assert result.returncode == 0, result.stderr

    def remove_target(self, address: str) -> None:
        result = hack("prometheus.py", "targets", "remove", address)
        assert result.returncode == 0, result.stderr

    def active_targets(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets?state=active", timeout=5) as r:
            targets: list[dict[str, Any]] = json.load(r)["data"]["activeTargets"]
        return targets

    def scraped(self, address: str) -> dict[str, Any] | None:
        """The target at `address` once Prometheus scraped it successfully."""
        for target in self.active_targets():
            if target["labels"].get("instance") == address and target["health"] == "up":
                return target
        return None


@pytest.fixture(scope="session")
def prometheus() -> Iterator[LocalPrometheus]:
    """A running local Prometheus (scrape interval 2 s); stopped afterwards only if this
    session started it. A missing binary or a failed start fails the tests."""
    with running("Prometheus", functools.partial(hack, "prometheus.py")):
        yield LocalPrometheus((REPO / ".cluster" / "prometheus-url").read_text().strip())


SWITCHBOARD = str(REPO / ".venv" / "bin" / "switchboard")


class Simulator:
    """`switchboard simulate --serve` in live mode on a free loopback port, as a process."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as output:
            self.process = subprocess.Popen(
                [SWITCHBOARD, "simulate", "--serve", "0", "--address", "127.0.0.1", *args],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A simulator that follows a ContactCenter reads the local cluster.
                env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
            )
        self.address = wait_until(
            f"the simulator to serve its metrics (log {log_path})", self._serving, timeout=30
        )

    def _serving(self) -> str | None:
        text = self.log_path.read_text(errors="replace")
        if self.process.poll() is not None:
            raise AssertionError(f"the simulator exited ({self.process.returncode}):\n{text}")
        found = re.search(r"serving metrics on ([\d.]+:\d+)", text)
        return found.group(1) if found else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def simulate(
    prometheus: LocalPrometheus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Simulator]]:
    """Starts simulators (`simulate(*args, labels={...})`) that Prometheus scrapes, with
    `labels` on their series; stops and unregisters them after the test."""
    running: list[Simulator] = []

    def start(*args: str, labels: dict[str, str] | None = None) -> Simulator:
        log_path = tmp_path_factory.mktemp("simulator") / "simulator.log"
        simulator = Simulator(list(args), log_path)
        running.append(simulator)
        prometheus.add_target(simulator.address, labels)
        return simulator

    try:
        yield start
    finally:
        for simulator in running:
            simulator.stop()
            prometheus.remove_target(simulator.address)
