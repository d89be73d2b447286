"""The local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes whose Pods become Running and Ready), built from Go
modules by hack/build.sh.

    python hack/cluster.py up [--nodes N]   idempotent; builds what is missing, starts, waits
    python hack/cluster.py down             stops everything it started
    python hack/cluster.py status           says what runs
    python hack/cluster.py add-nodes N      more fake nodes (for benchmarks)
    python hack/cluster.py restart          restarts etcd and kube-apiserver, keeping the data

State lives in .cluster/ (certificates, etcd data, logs, ports and process ids); the admin
kubeconfig is .cluster/kubeconfig. Ports are picked free at start, so two checkouts can
each run a cluster side by side. Each start begins with an empty store: the cluster is
disposable.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from pki import certificate, common_name, new_key, write_certificate, write_key
from processes import alive, free_port, stop_group

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "bin"
STATE_DIR = REPO / ".cluster"
PKI = STATE_DIR / "pki"
LOGS = STATE_DIR / "logs"
STATE_FILE = STATE_DIR / "state.json"
KUBECONFIG = STATE_DIR / "kubeconfig"

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.64.0.1/12"
# Components start in this order and stop in the reverse one.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
STORE = COMPONENTS[:2]  # what `restart` restarts
NODE_ALLOCATABLE = {"cpu": "32", "memory": "128Gi", "pods": "250", "ephemeral-storage": "500Gi"}
ZONES = ("zone-a", "zone-b", "zone-c")


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def ensure_pki() -> None:
    """A CA, the apiserver's serving certificate, an admin client certificate in
    system:masters and the service-account key pair; made once and kept."""
    if (PKI / "admin.crt").exists():
        return
    PKI.mkdir(parents=True, exist_ok=True)
    ca_key = new_key()
    ca = certificate(
        common_name("switchboard-local-ca"),
        ca_key,
        None,
        ca=True,
    )
    write_key(PKI / "ca.key", ca_key)
    write_certificate(PKI / "ca.crt", ca)

    first_service_ip = next(ipaddress.IPv4Network(SERVICE_CIDR).hosts())
    server_key = new_key()
    server = certificate(
        common_name("kube-apiserver"),
        server_key,
        (ca, ca_key),
        sans=[
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default"),
            x509.DNSName("kubernetes.default.svc"),
            x509.DNSName("kubernetes.default.svc.cluster.local"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(first_service_ip),
        ],
    )
    write_key(PKI / "apiserver.key", server_key)
    write_certificate(PKI / "apiserver.crt", server)

    admin_key = new_key()
    admin = certificate(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "switchboard-admin"),
            ]
        ),
        admin_key,
        (ca, ca_key),
        client=True,
    )
    write_key(PKI / "admin.key", admin_key)
    write_certificate(PKI / "admin.crt", admin)

    service_account_key = new_key()
    write_key(PKI / "sa.key", service_account_key)
    (PKI / "sa.pub").write_bytes(
        service_account_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def write_kubeconfig(apiserver_port: int) -> None:
    def data(name: str) -> str:
        return base64.b64encode((PKI / name).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "switchboard-local",
                "cluster": {
                    "server": f"https://127.0.0.1:{apiserver_port}",
                    "certificate-authority-data": data("ca.crt"),
                },
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate-data": data("admin.crt"),
                    "client-key-data": data("admin.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": "switchboard-local",
                "context": {"cluster": "switchboard-local", "user": "admin"},
            }
        ],
        "current-context": "switchboard-local",
    }
    # JSON is YAML; every client reads it.
    KUBECONFIG.write_text(json.dumps(config, indent=2) + "\n")
    KUBECONFIG.chmod(0o600)


# --- state and processes ------------------------------------------------------------------


@dataclass
class State:
    ports: dict[str, int]
    pids: dict[str, int]

    @classmethod
    def load(cls) -> State:
        if not STATE_FILE.exists():
            return cls(ports={}, pids={})
        raw = json.loads(STATE_FILE.read_text())
        return cls(ports=raw.get("ports", {}), pids=raw.get("pids", {}))

    def save(self) -> None:
        STATE_FILE.write_text(json.dumps({"ports": self.ports, "pids": self.pids}, indent=2) + "\n")


def start(name: str, args: list[str], state: State) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    binary = BIN / ("kwok" if name == "kwok" else name)
    with open(LOGS / f"{name}.log", "ab") as output:
        process = subprocess.Popen(
            [str(binary), *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as a whole
            cwd=STATE_DIR,
        )
    state.pids[name] = process.pid
    state.save()


def stop_demo_operator() -> None:
    """The operator `make demo` started, if it still runs."""
    pid_file = STATE_DIR / "operator.pid"
    if pid_file.exists():
        stop_group(int(pid_file.read_text()), "the demo operator", "cluster")
        pid_file.unlink()


def stop_all(state: State) -> None:
    stop_demo_operator()
    for name in reversed(COMPONENTS):
        pid = state.pids.get(name)
        if pid is not None:
            stop_group(pid, name, "cluster")
    state.pids = {}
    state.save()


# --- the API ------------------------------------------------------------------------------


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    context.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    return context


def api(state: State, method: str, path: str, body: Any = None, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(
        f"https://127.0.0.1:{state.ports['kube-apiserver']}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, context=_tls_context(), timeout=timeout) as response:
        payload = response.read()
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode()


def apiserver_ready(state: State) -> bool:
    if "kube-apiserver" not in state.ports or not (PKI / "admin.crt").exists():
        return False
    try:
        return bool(api(state, "GET", "/readyz", timeout=2.0) == "ok")
    except (OSError, urllib.error.URLError, ssl.SSLError):
        return False


def wait_for(what: str, condition: Any, timeout: float, component: str, state: State) -> None:
    """Polls until `condition()`; fails fast, with the log's tail, if `component` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if not alive(state.pids[component]):
            tail = (LOGS / f"{component}.log").read_text(errors="replace").splitlines()[-5:]
            raise SystemExit(
                f"[cluster] {component} exited while waiting for {what}:\n" + "\n".join(tail)
            )
        time.sleep(0.2)
    log_file = LOGS / f"{component}.log"
    raise SystemExit(
        f"[cluster] timed out after {timeout:.0f} s waiting for {what}; see {log_file}"
    )


def create_or_keep(state: State, path: str, body: dict[str, Any]) -> None:
    try:
        api(state, "POST", path, body)
    except urllib.error.HTTPError as error:
        if error.code != 409:  # already exists
            raise


def node_manifest(name: str, zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": zone,
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": NODE_ALLOCATABLE,
            "capacity": NODE_ALLOCATABLE,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
        },
    }


def nodes(state: State) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api(state, "GET", "/api/v1/nodes")["items"]
    return items


def ready_nodes(state: State) -> int:
    return sum(
        1
        for node in nodes(state)
        for condition in node.get("status", {}).get("conditions", [])
        if condition["type"] == "Ready" and condition["status"] == "True"
    )


def ensure_nodes(state: State, count: int) -> None:
    for index in range(count):
        create_or_keep(
            state, "/api/v1/nodes", node_manifest(f"kwok-node-{index}", ZONES[index % len(ZONES)])
        )
    wait_for(f"{count} Ready nodes", lambda: ready_nodes(state) >= count, 60, "kwok", state)


def ensure_default_storage_class(state: State) -> None:
    # The controller manager's hostPath provisioner serves it (test clusters only).
    create_or_keep(
        state,
        "/apis/storage.k8s.io/v1/storageclasses",
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "standard",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubernetes.io/host-path",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
        },
    )


# --- commands -----------------------------------------------------------------------------


def start_store(state: State) -> None:
    """etcd and kube-apiserver on the ports in `state`, serving what etcd's data directory
    holds; returns once the apiserver is ready."""
    pki = str(PKI)
    etcd_url = f"http://127.0.0.1:{state.ports['etcd']}"
    peer_url = f"http://127.0.0.1:{state.ports['etcd-peer']}"
    start(
        "etcd",
        [
            "--name=local",
            f"--data-dir={STATE_DIR / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=local={peer_url}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        state,
    )
    start(
        "kube-apiserver",
        [
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={state.ports['kube-apiserver']}",
            f"--tls-cert-file={pki}/apiserver.crt",
            f"--tls-private-key-file={pki}/apiserver.key",
            f"--client-ca-file={pki}/ca.crt",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki}/sa.pub",
            f"--service-account-signing-key-file={pki}/sa.key",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # As on real clusters: Pod Security admission, not a global switch, decides.
            "--allow-privileged=true",
            # The endpoint reconciler refuses a loopback address; nothing here needs it.
            "--endpoint-reconciler-type=none",
            "--max-requests-inflight=800",
            "--max-mutating-requests-inflight=400",
        ],
        state,
    )
    wait_for("kube-apiserver /readyz", lambda: apiserver_ready(state), 120, "kube-apiserver", state)


def running(state: State) -> bool:
    return all(name in state.pids and alive(state.pids[name]) for name in COMPONENTS)


def up(node_count: int) -> None:
    started = time.monotonic()
    subprocess.run([str(REPO / "hack" / "build.sh")], check=True)
    STATE_DIR.mkdir(exist_ok=True)
    state = State.load()
    if running(state) and apiserver_ready(state):
        log("already running")
        ensure_nodes(state, node_count)
        write_kubeconfig(state.ports["kube-apiserver"])
        return
    stop_all(state)  # whatever half of a cluster is left
    # A fresh store each start: a local cluster is disposable, and old Pods or node
    # Leases held by a previous kwok would otherwise linger.
    shutil.rmtree(STATE_DIR / "etcd", ignore_errors=True)
    ensure_pki()
    state.ports = {
        name: free_port()
        for name in (
            "etcd",
            "etcd-peer",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        )
    }
    state.save()
    write_kubeconfig(state.ports["kube-apiserver"])
    start_store(state)
    pki = str(PKI)
    kubeconfig = str(KUBECONFIG)
    delegated_auth = [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
    ]
    start(
        "kube-controller-manager",
        [
            *delegated_auth,
            "--leader-elect=false",
            f"--secure-port={state.ports['kube-controller-manager']}",
            f"--service-account-private-key-file={pki}/sa.key",
            f"--root-ca-file={pki}/ca.crt",
            f"--cluster-signing-cert-file={pki}/ca.crt",
            f"--cluster-signing-key-file={pki}/ca.key",
            "--enable-hostpath-provisioner=true",
            # Defaults (20 QPS) are sized for one cluster's steady state, not 200 objects at once.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--concurrent-deployment-syncs=20",
            "--concurrent-replicaset-syncs=20",
            "--concurrent-statefulset-syncs=20",
            "--concurrent-gc-syncs=40",
        ],
        state,
    )
    scheduler_config = STATE_DIR / "scheduler.yaml"
    scheduler_config.write_text(
        json.dumps(
            {
                "apiVersion": "kubescheduler.config.k8s.io/v1",
                "kind": "KubeSchedulerConfiguration",
                "clientConnection": {"kubeconfig": kubeconfig, "qps": 200, "burst": 400},
                "leaderElection": {"leaderElect": False},
            }
        )
    )
    start(
        "kube-scheduler",
        [
            f"--config={scheduler_config}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={state.ports['kube-scheduler']}",
        ],
        state,
    )
    start(
        "kwok",
        [
            f"--kubeconfig={kubeconfig}",
            f"--config={BIN / 'kwok-stages.yaml'}",
            "--manage-all-nodes=true",
            f"--cidr={POD_CIDR}",
            "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{state.ports['kwok']}",
        ],
        state,
    )
    ensure_default_storage_class(state)
    ensure_nodes(state, node_count)
    wait_for(
        "the default ServiceAccount",
        lambda: _exists(state, "/api/v1/namespaces/default/serviceaccounts/default"),
        60,
        "kube-controller-manager",
        state,
    )
    for name in COMPONENTS:
        if not alive(state.pids[name]):
            raise SystemExit(
                f"[cluster] {name} exited during start-up; see {LOGS / (name + '.log')}"
            )
    log(f"up in {time.monotonic() - started:.1f} s; KUBECONFIG={KUBECONFIG.relative_to(REPO)}")


def _exists(state: State, path: str) -> bool:
    try:
        api(state, "GET", path)
    except urllib.error.HTTPError:
        return False
    return True


def down() -> None:
    state = State.load()
    stop_all(state)
    log("stopped")


def status() -> int:
    state = State.load()
    for name in COMPONENTS:
        pid = state.pids.get(name)
        port = state.ports.get(name)
        where = f" port {port}" if port else ""
        print(f"{name:<24} {'running' if pid and alive(pid) else 'stopped'}{where}")
    if not apiserver_ready(state):
        print("apiserver                not ready")
        return 1
    version = api(state, "GET", "/version")["gitVersion"]
    print(f"apiserver                ready ({version}), KUBECONFIG={KUBECONFIG.relative_to(REPO)}")
    print(f"nodes                    {ready_nodes(state)}/{len(nodes(state))} Ready")
    return 0 if running(state) else 1


def add_nodes(count: int) -> None:
    state = State.load()
    if not apiserver_ready(state):
        raise SystemExit("[cluster] not running; run `make cluster-up` first")
    ensure_nodes(state, len(nodes(state)) + count)


def restart() -> None:
    """Stops kube-apiserver and etcd, then starts them again on the same ports with etcd's data
    kept: what every client (the other components, an operator) sees when the control plane
    restarts under it."""
    state = State.load()
    if not running(state):
        raise SystemExit("[cluster] not running; run `make cluster-up` first")
    started = time.monotonic()
    for name in reversed(STORE):
        # The apiserver stops serving at once but may linger for its in-flight watches.
        stop_group(state.pids[name], name, "cluster", timeout=5.0)
    start_store(state)
    log(f"etcd and kube-apiserver restarted in {time.monotonic() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up")
    up_parser.add_argument("--nodes", type=int, default=3)
    commands.add_parser("down")
    commands.add_parser("status")
    more = commands.add_parser("add-nodes")
    more.add_argument("count", type=int)
    commands.add_parser("restart")
    args = parser.parse_args()
    if args.command == "up":
        up(args.nodes)
    elif args.command == "down":
        down()
    elif args.command == "status":
        return status()
    elif args.command == "restart":
        restart()
    else:
        add_nodes(args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
