"""Runs a ContactCenter's Switchboard pods as local processes: what a kubelet would run from the
Deployments the operator applied (the local cluster's kwok nodes run no containers), so the data
plane runs with exactly the wiring the operator renders.

    python hack/pods.py NAMESPACE CONTACT_CENTER [--prometheus] [--state-dir DIR]
                        [--manifests FILE]

The objects come from the cluster (KUBECONFIG, else the local cluster's), or with --manifests
from a YAML file: what `switchboard render` prints plus the Secrets it refers to, re-read when
the file changes (a test changes replicas or routing weights by rewriting it).

Until stopped (SIGTERM or SIGINT), for every Deployment of the ContactCenter that runs
Switchboard (gateways, bot tracks, agent workspace) it keeps `spec.replicas` processes of
`switchboard <container args>` running, as a kubelet would:

- the environment as the kubelet builds it: `env` values and `valueFrom` (configMapKeyRef,
  secretKeyRef, fieldRef to the pod's name or namespace), then `envFrom` (configMapRef,
  secretRef), resolved when the process starts;
- mounted ConfigMaps and Secrets written under <state>/pods/<namespace>/<pod>/<volume> and kept
  in sync (the kubelet updates mounted ConfigMaps too), and environment values that name a mount
  path pointing there instead;
- readiness probed at /readyz over the scheme of the pod template's readiness probe (HTTPS
  without verifying the certificate, as the kubelet does);
- its own free ports for SWITCHBOARD_HTTP_PORT, SWITCHBOARD_METRICS_PORT and SWITCHBOARD_SMTP_PORT
  (a pod's own IP; the last is an email gateway's SMTP server);
- a rolling replacement when the pod template changes (one new process ready before an old one
  stops), and a restart with backoff when a process exits (restartPolicy Always);
- per Deployment a "Service": a TCP proxy on a port that stays the same while this runs,
  spreading connections over the ready processes;
- with --prometheus, each process's metrics port as a scrape target of hack/prometheus.py's
  Prometheus, labelled with its namespace and pod.

<state>/pods/<namespace>/<name>.json says, while it runs, which services listen where and which
processes run (pod, pid, ports, ready): tests read it to reach a service or to kill a pod.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import time
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from lightkube import AsyncClient, KubeConfig
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Secret

import prometheus
from processes import free_port, port_free

REPO = Path(__file__).resolve().parent.parent
SWITCHBOARD = REPO / ".venv" / "bin" / "switchboard"
SYNC_SECONDS = 1.0
STOP_GRACE_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 10.0
PORT_VARIABLES = ("SWITCHBOARD_HTTP_PORT", "SWITCHBOARD_METRICS_PORT", "SWITCHBOARD_SMTP_PORT")

logger = logging.getLogger("pods")


def template_hash(template: Mapping[str, Any]) -> str:
    """The pod template's identity, as a ReplicaSet's pod-template-hash is."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class Pod:
    name: str
    deployment: str
    template: str
    http_port: int
    metrics_port: int
    smtp_port: int
    directory: Path
    process: asyncio.subprocess.Process | None = None
    ready: bool = False
    restarts: int = 0
    next_start: float = 0.0
    stopping: bool = False

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def as_json(self) -> dict[str, Any]:
        return {
            "pod": self.name,
            "deployment": self.deployment,
            "pid": self.process.pid if self.running() and self.process else None,
            "http_port": self.http_port,
            "metrics_port": self.metrics_port,
            "smtp_port": self.smtp_port,
            "ready": self.ready,
            "restarts": self.restarts,
        }


@dataclass
class ServiceProxy:
    """A TCP proxy standing in for the Deployment's Service: each connection goes to the next
    ready pod."""

    name: str
    port: int
    pods: list[Pod] = field(default_factory=list)
    server: asyncio.Server | None = None
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ready = [pod for pod in self.pods if pod.ready and pod.running() and not pod.stopping]
        if not ready:
            writer.close()
            return
        pod = ready[next(self._turn) % len(ready)]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", pod.http_port
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class ClusterSource:
    """The Deployments, ConfigMaps and Secrets of a namespace, read from the cluster."""

    def __init__(self, client: AsyncClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    async def deployments(self, selector: Mapping[str, str]) -> list[dict[str, Any]]:
        return [
            d.to_dict()
            async for d in self.client.list(
                Deployment, namespace=self.namespace, labels=dict(selector)
            )
        ]

    async def config_map(self, name: str) -> dict[str, str]:
        body = await self.client.get(ConfigMap, name, namespace=self.namespace)
        return dict(body.data or {})

    async def secret(self, name: str) -> dict[str, str]:
        body = await self.client.get(Secret, name, namespace=self.namespace)
        return {key: b64decode(value).decode() for key, value in (body.data or {}).items()}


class FileSource:
    """The same, from a YAML file of manifests (what `switchboard render` prints, plus the
    Secrets it refers to), read again whenever it changes: no cluster needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read_at: float | None = None
        self._objects: dict[tuple[str, str], dict[str, Any]] = {}

    def _objects_now(self) -> dict[tuple[str, str], dict[str, Any]]:
        changed = self.path.stat().st_mtime
        if changed != self._read_at:
            documents = yaml.safe_load_all(self.path.read_text())
            self._objects = {
                (d["kind"], d["metadata"]["name"]): d for d in documents if d and "kind" in d
            }
            self._read_at = changed
        return self._objects

    async def deployments(self, selector: Mapping[str, str]) -> list[dict[str, Any]]:
        return [
            body
            for (kind, _), body in self._objects_now().items()
            if kind == "Deployment"
            and all(body["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    async def config_map(self, name: str) -> dict[str, str]:
        return dict(self._objects_now()[("ConfigMap", name)].get("data") or {})

    async def secret(self, name: str) -> dict[str, str]:
        body = self._objects_now()[("Secret", name)]
        values = {k: b64decode(v).decode() for k, v in (body.get("data") or {}).items()}
        return values | dict(body.get("stringData") or {})


class Kubelet:
    """Keeps one ContactCenter's Switchboard Deployments running as local processes."""

    def __init__(
        self,
        source: ClusterSource | FileSource,
        namespace: str,
        name: str,
        state_dir: Path,
        scrape: bool,
    ) -> None:
        self.source = source
        self.namespace = namespace
        self.name = name
        self.root = state_dir / "pods" / namespace
        self.state_file = self.root / f"{name}.json"
        self.prometheus = prometheus.Prometheus(state_dir) if scrape else None
        self.pods: dict[str, list[Pod]] = {}
        self.services: dict[str, ServiceProxy] = {}
        # The kubelet's probes do not verify certificates.
        self.http = httpx.AsyncClient(timeout=1.0, verify=False)

    async def run(self, stop: asyncio.Event) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        while not stop.is_set():
            try:
                await self.sync()
            except Exception:
                logger.exception("sync failed; trying again")
            self.write_state()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SYNC_SECONDS)
        await self.shutdown()

    async def sync(self) -> None:
        selector = {
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/part-of": "switchboard",
        }
        deployments = {
            d["metadata"]["name"]: d
            for d in await self.source.deployments(selector)
            if d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
            in ("gateway", "bot", "agents")
        }
        for gone in set(self.pods) - set(deployments):
            for pod in self.pods.pop(gone):
                await self.remove_pod(pod)
            await self.services.pop(gone).stop()
        for name, deployment in deployments.items():
            await self.converge(name, deployment)

    async def converge(self, name: str, deployment: Mapping[str, Any]) -> None:
        template = deployment["spec"]["template"]
        wanted = int(deployment["spec"].get("replicas", 1))
        digest = template_hash(template)
        if name not in self.services:
            proxy = ServiceProxy(name, free_port())
            await proxy.start()
            self.services[name] = proxy
        pods = self.pods.setdefault(name, [])
        self.services[name].pods = pods
        for pod in [p for p in pods if not p.stopping]:
            await self.write_volumes(pod, template)
            await self.check(pod, template)
        current = [p for p in pods if p.template == digest and not p.stopping]
        old = [p for p in pods if p.template != digest and not p.stopping]
        # As a Deployment rolls (maxSurge 1, maxUnavailable 0): one new pod beyond the wanted
        # count at most, and an old pod goes only while every new one is ready.
        if len(current) < wanted and len(current) + len(old) <= wanted:
            pods.append(await self.new_pod(name, digest, template))
        elif old and all(p.ready for p in current):
            await self.retire(pods, old[0])
        elif len(current) > wanted:
            await self.retire(pods, current[-1])

    async def retire(self, pods: list[Pod], pod: Pod) -> None:
        pod.stopping = True
        await self.remove_pod(pod)
        pods.remove(pod)

    async def remove_pod(self, pod: Pod) -> None:
        """Stops a pod for good and deletes its file system (its mounted Secrets with it), as
        the kubelet does; its log stays for whoever reads what happened."""
        await self.stop_pod(pod)
        shutil.rmtree(self.file_system(pod), ignore_errors=True)

    async def new_pod(self, deployment: str, digest: str, template: Mapping[str, Any]) -> Pod:
        suffix = secrets.token_hex(3)
        name = f"{deployment}-{digest[:5]}-{suffix}"
        pod = Pod(name, deployment, digest, free_port(), free_port(), free_port(), self.root / name)
        await self.write_volumes(pod, template)
        await self.start(pod, template)
        return pod

    async def check(self, pod: Pod, template: Mapping[str, Any]) -> None:
        """Restarts an exited process (with backoff) and probes readiness."""
        if not pod.running():
            pod.ready = False
            if pod.process is not None:
                pod.restarts += 1
                pod.next_start = time.monotonic() + min(2.0**pod.restarts, MAX_BACKOFF_SECONDS)
                logger.warning("%s exited (%s); restarting", pod.name, pod.process.returncode)
                self.unscrape(pod)
                pod.process = None
            if time.monotonic() >= pod.next_start:
                # A port chosen before the pod bound it may since have gone to another
                # process; a fresh sandbox gets fresh ports rather than failing forever.
                ports = (pod.http_port, pod.metrics_port, pod.smtp_port)
                if not all(port_free(port) for port in ports):
                    pod.http_port, pod.metrics_port, pod.smtp_port = (free_port() for _ in ports)
                await self.start(pod, template)
            return
        probe = template["spec"]["containers"][0].get("readinessProbe", {}).get("httpGet", {})
        scheme = probe.get("scheme", "HTTP").lower()
        try:
            response = await self.http.get(f"{scheme}://127.0.0.1:{pod.http_port}/readyz")
            pod.ready = response.status_code == 200
        except httpx.HTTPError:
            pod.ready = False

    async def start(self, pod: Pod, template: Mapping[str, Any]) -> None:
        container = template["spec"]["containers"][0]
        env = await self.environment(pod, template, container)
        pod.directory.mkdir(parents=True, exist_ok=True)
        log = open(pod.directory / "log", "ab")  # noqa: SIM115, ASYNC230 - a local file, the child keeps it
        pod.process = await asyncio.create_subprocess_exec(
            str(SWITCHBOARD),
            *container.get("args", []),
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        logger.info("started %s (pid %s)", pod.name, pod.process.pid)
        if self.prometheus is not None:
            prometheus.add_target(
                self.prometheus,
                f"127.0.0.1:{pod.metrics_port}",
                {"namespace": self.namespace, "pod": pod.name},
            )

    def unscrape(self, pod: Pod) -> None:
        if self.prometheus is not None:
            prometheus.remove_target(self.prometheus, f"127.0.0.1:{pod.metrics_port}")

    async def stop_pod(self, pod: Pod) -> None:
        process = pod.process
        self.unscrape(pod)
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        logger.info("stopped %s", pod.name)

    async def environment(
        self, pod: Pod, template: Mapping[str, Any], container: Mapping[str, Any]
    ) -> dict[str, str]:
        env: dict[str, str] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env |= await self.config_map(source["configMapRef"]["name"])
            elif "secretRef" in source:
                env |= await self.secret(source["secretRef"]["name"])
        for variable in container.get("env", []):
            env[variable["name"]] = await self.value(pod, variable)
        root = self.file_system(pod)
        for key, value in env.items():
            if value.startswith("/") and (root / value.lstrip("/")).exists():
                env[key] = str(root / value.lstrip("/"))
        env["SWITCHBOARD_HTTP_PORT"] = str(pod.http_port)
        env["SWITCHBOARD_METRICS_PORT"] = str(pod.metrics_port)
        env["SWITCHBOARD_SMTP_PORT"] = str(pod.smtp_port)
        return env

    async def value(self, pod: Pod, variable: Mapping[str, Any]) -> str:
        if "value" in variable:
            return str(variable["value"])
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            return (await self.secret(ref["name"]))[ref["key"]]
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            return (await self.config_map(ref["name"]))[ref["key"]]
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            return {"metadata.name": pod.name, "metadata.namespace": self.namespace}[path]
        raise ValueError(f"cannot resolve {variable['name']}: {source}")

    @staticmethod
    def file_system(pod: Pod) -> Path:
        """The pod's own file system: its volumes are mounted (written) at their mount paths
        below it, and absolute paths in its environment that exist there point there."""
        return pod.directory / "root"

    async def write_volumes(self, pod: Pod, template: Mapping[str, Any]) -> None:
        """Creates the pod's emptyDir mounts and writes (or refreshes) its mounted ConfigMaps and
        Secrets (their `items`, else every key), each file replaced atomically, as the kubelet
        keeps them in sync."""
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        for mount in template["spec"]["containers"][0].get("volumeMounts", []):
            volume = volumes.get(mount["name"], {})
            directory = self.file_system(pod) / mount["mountPath"].lstrip("/")
            directory.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                source = volume["configMap"]
                data = await self.config_map(source["name"])
            elif "secret" in volume:
                source = volume["secret"]
                data = await self.secret(source["secretName"])
            else:
                continue
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                key, text = item["path"], data[item["key"]]
                target = directory / key
                if target.exists() and target.read_text() == text:
                    continue
                staging = directory / f".{key}.tmp"
                staging.write_text(text)
                staging.replace(target)

    async def config_map(self, name: str) -> dict[str, str]:
        return await self.source.config_map(name)

    async def secret(self, name: str) -> dict[str, str]:
        return await self.source.secret(name)

    def write_state(self) -> None:
        state = {
            "namespace": self.namespace,
            "contact_center": self.name,
            "services": {name: proxy.port for name, proxy in self.services.items()},
            "pods": [pod.as_json() for pods in self.pods.values() for pod in pods],
        }
        staging = self.state_file.with_suffix(".tmp")
        staging.write_text(json.dumps(state, indent=2) + "\n")
        staging.replace(self.state_file)

    async def shutdown(self) -> None:
        await asyncio.gather(*(self.stop_pod(pod) for pods in self.pods.values() for pod in pods))
        for proxy in self.services.values():
            await proxy.stop()
        await self.http.aclose()
        self.state_file.unlink(missing_ok=True)


async def main_async(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = None
    if args.manifests is not None:
        source: ClusterSource | FileSource = FileSource(args.manifests)
    else:
        client = AsyncClient(config=KubeConfig.from_file(str(args.kubeconfig)))
        source = ClusterSource(client, args.namespace)
    kubelet = Kubelet(source, args.namespace, args.name, args.state_dir, args.prometheus)
    try:
        await kubelet.run(stop)
    finally:
        if client is not None:
            await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("namespace")
    parser.add_argument("name", help="the ContactCenter")
    parser.add_argument("--prometheus", action="store_true", help="register scrape targets")
    parser.add_argument(
        "--manifests",
        type=Path,
        help="read the objects from this YAML file (re-read when it changes), not the cluster",
    )
    parser.add_argument("--state-dir", type=Path, default=REPO / ".cluster")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=Path(os.environ.get("KUBECONFIG", REPO / ".cluster" / "kubeconfig")),
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [pods] %(message)s", stream=sys.stderr
    )
    # The HTTP clients (httpx here, httpx2 in lightkube) log every request at INFO: several per
    # pod every second, drowning what matters.
    for client in ("httpx", "httpx2"):
        logging.getLogger(client).setLevel(logging.WARNING)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
