"""A ContactCenter's data plane as local processes, without a cluster: its manifest rendered by
`switchboard render`, the Secrets it refers to added, and the whole run by `hack/pods.py
--manifests` (one process per pod, a TCP proxy per Service) against the local RabbitMQ and
PostgreSQL. It proves the operator↔data-plane contract: every role runs with exactly the
wiring the operator renders.

    plane = LocalDataPlane(contact_center, queue_uri=..., database_uri=..., directory=tmp)
    plane.start()
    plane.wait_ready()
    plane.url("web")                   # the `web` channel's Service
    plane.kill("bot")                  # SIGKILL one bot pod; pods.py restarts it
    plane.wait_ready()
    plane.update(replicas_of_web=2)    # a changed manifest: pods.py follows it
    plane.stop()

The queue and database become `external`, pointing at the given URIs; the tokens the operator
would generate (the workspace's, each `api` channel's) are made here, and so are the
ConfigMaps of the example dialogue models (`configmap://telco-support-<version>/model.yaml`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from switchboard.api.channels import TOKEN_CHANNEL_TYPES
from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.secrets import (
    TOKEN_KEY,
    agents_token_secret_name,
    api_token_secret_name,
)
from tests.integration.kube import REPO, wait_until

SWITCHBOARD = REPO / ".venv" / "bin" / "switchboard"
PODS = REPO / "hack" / "pods.py"
MODELS = REPO / "examples" / "models"
STATE_DIR = REPO / ".cluster"
URI_KEY = "uri"
CA_KEY = "ca.crt"  # external.caRef's default key
STOP_SECONDS = 30.0


def model_config_maps(namespace: str) -> list[dict[str, Any]]:
    """The example dialogue models as the ConfigMaps `kubectl apply -k examples/models` makes."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": path.stem, "namespace": namespace},
            "data": {"model.yaml": path.read_text()},
        }
        for path in sorted(MODELS.glob("telco-support-*.yaml"))
    ]


def rss_kib(pid: int) -> int:
    """A process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"process {pid} has no VmRSS")


def _secret(name: str, namespace: str, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": dict(values),
    }


class LocalDataPlane:
    """One ContactCenter's gateways, bot tracks and agent workspace, run by hack/pods.py."""

    def __init__(
        self,
        contact_center: Mapping[str, Any],
        *,
        queue_uri: str,
        database_uri: str,
        directory: Path,
        state_dir: Path = STATE_DIR,
        prometheus: bool = False,
        provided_secrets: Mapping[str, Mapping[str, str]] | None = None,
        queue_ca: str | None = None,
        database_ca: str | None = None,
    ) -> None:
        """`contact_center` is a ContactCenter manifest (metadata name and namespace, spec);
        its queue and database are replaced by the given servers. `prometheus`: pods.py
        registers every pod as a scrape target of hack/prometheus.py's Prometheus.
        `provided_secrets`: more Secrets the spec refers to (a TLS certificate), by name, with
        their values. `queue_ca`, `database_ca`: the CA each server's certificate is verified
        with (`external.caRef`), for TLS URIs."""
        self.manifest = copy.deepcopy(dict(contact_center))
        self.queue_uri = queue_uri
        self.database_uri = database_uri
        self.cas = {"queue": queue_ca, "database": database_ca}
        self.directory = directory
        self.state_dir = state_dir
        self.prometheus = prometheus
        self.provided_secrets = dict(provided_secrets or {})
        self.name: str = self.manifest["metadata"]["name"]
        self.namespace: str = self.manifest["metadata"]["namespace"]
        self.manifests = directory / f"{self.name}.yaml"
        self.state_file = state_dir / "pods" / self.namespace / f"{self.name}.json"
        self.agents_token = secrets.token_urlsafe(24)
        self._api_tokens: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._log = directory / f"pods-{self.name}.log"

    # --- the manifests ------------------------------------------------------------------

    def contact_center(self) -> ContactCenter:
        spec = self.manifest["spec"]
        for service, ca in self.cas.items():
            secret = {"name": f"{self.name}-test-{service}"}
            external = {"secretRef": secret} | ({"caRef": secret} if ca else {})
            spec[service] = {"external": external}
        return ContactCenter.model_validate(self.manifest)

    def api_token(self, channel: str) -> str:
        """The bearer token of an `api` channel."""
        return self._api_tokens.setdefault(channel, secrets.token_urlsafe(24))

    def write_manifests(self) -> None:
        """What `switchboard render` prints for the ContactCenter, plus the Secrets and model
        ConfigMaps it refers to; replaced at once (pods.py re-reads it when it changes)."""
        cc = self.contact_center()
        self.directory.mkdir(parents=True, exist_ok=True)
        source = self.directory / f"{self.name}-contactcenter.yaml"
        source.write_text(yaml.safe_dump(self.manifest))
        rendered = subprocess.run(
            [str(SWITCHBOARD), "render", "-f", str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if rendered.returncode != 0:
            raise AssertionError(f"switchboard render failed: {rendered.stderr}")
        namespace = self.namespace
        extra = [
            *(
                _secret(
                    f"{self.name}-test-{service}",
                    namespace,
                    {URI_KEY: uri} | ({CA_KEY: ca} if ca else {}),
                )
                for (service, ca), uri in zip(
                    self.cas.items(), (self.queue_uri, self.database_uri), strict=True
                )
            ),
            _secret(agents_token_secret_name(cc), namespace, {TOKEN_KEY: self.agents_token}),
            *(
                _secret(
                    api_token_secret_name(cc, channel),
                    namespace,
                    {TOKEN_KEY: self.api_token(channel.name)},
                )
                for channel in cc.spec.channels
                if channel.type in TOKEN_CHANNEL_TYPES
            ),
            *model_config_maps(namespace),
            *(_secret(name, namespace, values) for name, values in self.provided_secrets.items()),
        ]
        staging = self.manifests.with_suffix(".new")
        staging.write_text(rendered.stdout + yaml.safe_dump_all(extra, explicit_start=True))
        staging.replace(self.manifests)

    def update(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Changes the ContactCenter's spec (`change(spec)`) and renders it again: pods.py
        follows, as the kubelet follows the Deployments the operator updates."""
        change(self.manifest["spec"])
        self.write_manifests()

    # --- the processes ------------------------------------------------------------------

    def start(self) -> None:
        self.write_manifests()
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    str(PODS),
                    self.namespace,
                    self.name,
                    "--manifests",
                    str(self.manifests),
                    "--state-dir",
                    str(self.state_dir),
                    *(["--prometheus"] if self.prometheus else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        """Stops every pod (SIGTERM, as a kubelet does) and pods.py itself."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> LocalDataPlane:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def state(self) -> dict[str, Any]:
        """pods.py's state: `services` (Deployment -> port) and `pods` (pod, deployment, pid,
        http_port, metrics_port, ready, restarts)."""
        if self._process is not None and self._process.poll() is not None:
            raise AssertionError(f"hack/pods.py exited; its log:\n{self.log()}")
        state: dict[str, Any] = json.loads(self.state_file.read_text())
        return state

    def deployment(self, part: str) -> str:
        """The Deployment of a part: a channel's name, `bot` (or `bot-canary`), `agents`."""
        return f"{self.name}-{part}"

    def wanted(self) -> dict[str, int]:
        """Replicas per Deployment, as rendered."""
        documents = yaml.safe_load_all(self.manifests.read_text())
        return {
            d["metadata"]["name"]: int(d["spec"].get("replicas", 1))
            for d in documents
            if d
            and d.get("kind") == "Deployment"
            and d["metadata"]["labels"].get("app.kubernetes.io/component")
            in ("gateway", "bot", "agents")
        }

    def pods(self, part: str) -> list[dict[str, Any]]:
        deployment = self.deployment(part)
        return [pod for pod in self.state()["pods"] if pod["deployment"] == deployment]

    def ready(self) -> bool:
        """Whether every Deployment has its replicas running and ready, and its Service."""
        state = self.state()
        for deployment, replicas in self.wanted().items():
            ready = [p for p in state["pods"] if p["deployment"] == deployment and p["ready"]]
            if len(ready) < replicas or deployment not in state["services"]:
                return False
        return True

    def wait_ready(self, timeout: float = 60.0) -> None:
        try:
            wait_until(f"the pods of {self.name} to be ready", self.ready, timeout=timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log()}") from None

    def url(self, part: str, scheme: str = "http") -> str:
        """The part's Service, as http://127.0.0.1:PORT (https:// where it serves TLS)."""
        name = self.deployment(part)
        port: int = wait_until(f"the Service of {name}", lambda: self.state()["services"].get(name))
        return f"{scheme}://127.0.0.1:{port}"

    def kill(self, part: str) -> dict[str, Any]:
        """SIGKILL to a running pod of the part (its whole process group), as a crash;
        returns the pod as it was. pods.py restarts it, as the kubelet would."""
        running = [pod for pod in self.pods(part) if pod["pid"] and pod["ready"]]
        if not running:
            raise AssertionError(f"no running pod of {self.deployment(part)} to kill")
        pod = running[0]
        os.killpg(pod["pid"], signal.SIGKILL)
        return pod

    def wait_restarted(self, killed: Mapping[str, Any], timeout: float = 60.0) -> None:
        """Waits until a pod `kill` returned runs again (restarted once more) and is ready."""

        def back() -> bool:
            return any(
                p["pod"] == killed["pod"] and p["restarts"] > killed["restarts"] and p["ready"]
                for p in self.state()["pods"]
            )

        wait_until(f"pod {killed['pod']} to be restarted and ready", back, timeout=timeout)

    def rss_kib(self, part: str) -> list[int]:
        """Resident memory of each running pod of the part."""
        return [rss_kib(pod["pid"]) for pod in self.pods(part) if pod["pid"]]

    def pod_logs(self) -> Iterator[tuple[str, str]]:
        root = self.state_dir / "pods" / self.namespace
        for log in sorted(root.glob(f"{self.name}-*/log")):
            yield log.parent.name, log.read_text(errors="replace")

    def log(self, tail: int = 40) -> str:
        """The last lines of pods.py's log and of each pod's, to say why something failed."""
        parts = [("pods.py", self._log.read_text(errors="replace") if self._log.exists() else "")]
        parts.extend(self.pod_logs())
        return "\n".join(
            f"--- {name}\n" + "\n".join(text.splitlines()[-tail:]) for name, text in parts
        )
