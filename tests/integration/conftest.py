"""Integration fixtures: the real local control plane (hack/cluster.py), started once per
session or reused when it already runs, and a Pod Security `restricted` namespace per test.

A missing cluster is a failure, never a skip: the fixture starts it, and a start that fails
fails the tests.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from tests.integration.kube import KUBECONFIG, REPO, wait_until
from tests.integration.operator import Operator, install_crd


def _cluster(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "hack" / "cluster.py"), command],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """The admin kubeconfig of a running local cluster; stops the cluster afterwards only
    if this session started it."""
    started_here = _cluster("status").returncode != 0
    if started_here:
        result = _cluster("up")
        if result.returncode != 0:
            pytest.fail(f"the local cluster did not start:\n{result.stderr}", pytrace=False)
    try:
        yield KUBECONFIG
    finally:
        if started_here:
            _cluster("down")


@pytest.fixture(scope="session")
def client(kubeconfig: Path) -> Client:
    return Client(config=KubeConfig.from_file(str(kubeconfig)), field_manager="switchboard-tests")


@pytest.fixture
def namespace(client: Client) -> Iterator[str]:
    """A fresh namespace enforcing Pod Security `restricted`, deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    client.create(Namespace(metadata=ObjectMeta(name=name, labels=labels)))
    # Pods are admitted only once the namespace's default ServiceAccount exists.
    wait_until(
        f"the default ServiceAccount in namespace {name}",
        lambda: client.get(ServiceAccount, "default", namespace=name),
    )
    try:
        yield name
    finally:
        client.delete(Namespace, name)


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
