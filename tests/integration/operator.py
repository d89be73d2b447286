"""The operator as a real process against the local cluster, plus what the tests and
benchmarks read from it and from the apiserver."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from switchboard.resources.kinds import CHILD_KINDS
from tests.integration.kube import KUBECONFIG, REPO, kubectl, wait_until

CRD = REPO / "crds" / "switchboard.io_contactcenters.yaml"
SWITCHBOARD = REPO / ".venv" / "bin" / "switchboard"

# Writes that only the operator makes to these resources (the controllers write the
# status subresource of Deployments and StatefulSets; kwok writes Pods, Nodes and Leases).
OPERATOR_WRITTEN = (
    "contactcenters",
    *(child.plural for child in CHILD_KINDS),
    "secrets",
    "events",
)
WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def render(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What `switchboard render` prints for these ContactCenters."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as source:
        yaml.safe_dump_all(manifests, source)
        source.flush()
        out = subprocess.run(
            [str(SWITCHBOARD), "render", "-f", source.name],
            capture_output=True,
            text=True,
            check=True,
        )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def install_crd(path: Path = CRD, served: str = "contactcenters.switchboard.io") -> None:
    """Applies the CRDs of `path` (the ContactCenter's by default) and waits until the
    apiserver serves the one named `served`."""
    applied = kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    assert applied.returncode == 0, applied.stderr
    # A CRD just created may have no conditions yet, which `kubectl wait` takes as an error.
    wait_until(
        f"CRD {served} to be established",
        lambda: (
            kubectl(
                "wait", "--for=condition=Established", "--timeout=5s", f"crd/{served}"
            ).returncode
            == 0
        ),
        timeout=30,
    )


GATEWAY_API_CRDS = REPO / "bin" / "gateway-api-crds.yaml"
PROMETHEUS_OPERATOR_CRDS = REPO / "bin" / "prometheus-operator-crds.yaml"
CERT_MANAGER_CRDS = REPO / "bin" / "cert-manager-crds.yaml"
OPTIONAL_APIS = (
    (GATEWAY_API_CRDS, "httproutes.gateway.networking.k8s.io"),
    (PROMETHEUS_OPERATOR_CRDS, "podmonitors.monitoring.coreos.com"),
    (CERT_MANAGER_CRDS, "certificates.cert-manager.io"),
)
"""The APIs a cluster may serve that the operator makes children of (hack/build.sh keeps their
CRDs from their Go modules), with the CRD of each the operator uses."""


def install_optional_apis() -> None:
    """Installs them, and leaves them: removing a CRD under a running operator ends kopf's
    watch of it."""
    for path, served in OPTIONAL_APIS:
        if not path.exists():
            pytest.fail(f"bin/{path.name} is missing: run `make binaries`", pytrace=False)
        install_crd(path, served=served)


@dataclass
class Operator:
    """`switchboard run` in its own process group, logging to a file."""

    scope: list[str]
    log_path: Path
    kubeconfig: Path = KUBECONFIG  # the admin's, unless a test runs it as another identity
    options: list[str] = field(default_factory=list)  # leader election, for one
    metrics_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(SWITCHBOARD),
                    "run",
                    *self.scope,
                    *self.options,
                    f"--metrics-port={self.metrics_port}",
                    f"--health-port={self.health_port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
                start_new_session=True,
            )
        wait_until("the operator's liveness endpoint", self.healthy, timeout=30)

    def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the operator exited; see {self.log_path}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.health_port}/healthz", timeout=1
            ) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL to the whole process group, as a crash or an evicted node would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def leadership(self) -> tuple[str, bool]:
        """This replica's identity in the leader election and whether it leads now."""
        found = re.search(
            r'^switchboard_leader\{identity="([^"]*)"\} ([0-9.]+)$', self.metrics(), re.MULTILINE
        )
        assert found, f"no switchboard_leader metric; see {self.log_path}"
        return found.group(1), float(found.group(2)) == 1.0

    def metrics(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as r:
            text: bytes = r.read()
        return text.decode()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? ([0-9.eE+-]+|NaN)$", line)
        if not match:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(have.get(key) == value for key, value in labels.items()):
            total += float(match.group(2))
    return total


def apiserver_metrics() -> str:
    """The apiserver's /metrics, read with the admin certificate."""
    pki = REPO / ".cluster" / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    server = json.loads(KUBECONFIG.read_text())["clusters"][0]["cluster"]["server"]
    with urllib.request.urlopen(f"{server}/metrics", context=context, timeout=10) as response:
        text: bytes = response.read()
    return text.decode()


def operator_kind_writes_by_request(*, succeeded: bool = False) -> Counter[str]:
    """Write requests the apiserver has served on the resources the operator writes (status
    subresources of workloads excluded: the controllers write those), by
    "VERB resource[/subresource]"; with `succeeded`, only those answered 2xx (a request its
    client gave up on may or may not have been carried out)."""
    text = apiserver_metrics()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
        if (
            labels.get("verb") in WRITE_VERBS
            and labels.get("resource") in OPERATOR_WRITTEN
            and labels.get("dry_run", "") == ""
            and (not succeeded or labels.get("code", "").startswith("2"))
            and not (
                labels.get("subresource") == "status" and labels["resource"] != "contactcenters"
            )
        ):
            where = labels["resource"] + (
                f"/{labels['subresource']}" if labels.get("subresource") else ""
            )
            counts[f"{labels['verb']} {where}"] += int(float(line.rsplit(" ", 1)[1]))
    return counts
