"""Reconcile speed and cost: the operator against `kubectl apply` of the same objects, time
to Ready, a fleet of ContactCenters applied at once, and what an idle operator writes.

    .venv/bin/python -m bench.reconcile [--quick]

Everything runs against the local control plane (started if it is not running) with the
operator as a real process. Figures:

- overhead_ratio: median time from `kubectl apply` of the quickstart until every child
  exists, over the median time `kubectl apply` of the objects `switchboard render` prints
  takes to create them (alternating runs, fresh namespaces). Target <= 2.
- ready_p50_seconds: median time from apply of the quickstart to Ready=True. Target <= 5.
- all_ready_seconds (with count): a fleet applied in one `kubectl apply`, until every
  ContactCenter is Ready. Target <= 90 s for 200.
- operator_peak_rss_mb: the operator's peak resident memory (VmHWM). Target <= 250.
- idle_object_writes: write requests the apiserver served on the objects the operator writes
  (ContactCenters and their children, status included), during the idle period after the fleet
  is Ready (apiserver_request_total). Target 0.
- operator_idle_writes: the operator's own count of its write requests in that period, Events
  included. Target 0.
- idle_event_writes: Event writes the apiserver served in that period, from any component (the
  apiserver cannot say whose; the Events recorded then are listed by reason and source).
- children_after_restart_amid_deletion_seconds, ready_after_restart_amid_deletion_seconds: the
  operator restarted while the fleet's namespaces are being deleted, the time from `kubectl
  apply` of a new quickstart until its children exist, and until it is Ready.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event, Namespace, Node
from tests.integration.kube import KUBECONFIG, REPO, kubectl, wait_until
from tests.integration.operator import (
    Operator,
    install_crd,
    metric_sum,
    operator_kind_writes_by_request,
)

from switchboard import GROUP, PLURAL, VERSION
from switchboard.resources.drift import quantity_amount

ContactCenterResource = create_namespaced_resource(GROUP, VERSION, "ContactCenter", PLURAL)
QUICKSTART = REPO / "examples" / "quickstart.yaml"
NODE = {"cpu": 32.0, "memory": 128 * 2**30, "pods": 250}  # hack/cluster.py's fake nodes
POLL_SECONDS = 0.05


def say(message: str) -> None:
    print(message, flush=True)


def quickstart() -> dict[str, Any]:
    return next(
        d for d in yaml.safe_load_all(QUICKSTART.read_text()) if d and d["kind"] == "ContactCenter"
    )


def quickstart_in(namespace: str) -> str:
    """The quickstart as YAML for `kubectl apply`, in `namespace`."""
    manifest = quickstart()
    metadata = {**manifest["metadata"], "namespace": namespace}
    return yaml.safe_dump({**manifest, "metadata": metadata})


def rendered(namespace: str) -> list[dict[str, Any]]:
    manifest = quickstart()
    manifest["metadata"]["namespace"] = namespace
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as source:
        yaml.safe_dump(manifest, source)
        source.flush()
        out = subprocess.run(
            [str(REPO / ".venv/bin/switchboard"), "render", "-f", source.name],
            capture_output=True,
            text=True,
            check=True,
        )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


BENCH_NAMESPACE = {"switchboard.io/bench": "reconcile"}  # the label of the bench's namespaces
CLEAN_UP_SECONDS = 300


def remove_bench_namespaces(client: Client) -> None:
    """Deletes the bench's namespaces (an interrupted run's too) and waits until they are gone:
    an operator started amid the deletion of a 200-ContactCenter fleet first works through
    thousands of events of dying objects, which would be timed as its reconcile."""
    for namespace in client.list(Namespace, labels=dict(BENCH_NAMESPACE)):
        if namespace.status is None or namespace.status.phase != "Terminating":
            client.delete(Namespace, namespace.metadata.name)
    deadline = time.monotonic() + CLEAN_UP_SECONDS
    while list(client.list(Namespace, labels=dict(BENCH_NAMESPACE))):
        if time.monotonic() > deadline:
            say(f"bench namespaces still terminating after {CLEAN_UP_SECONDS} s")
            return
        time.sleep(1)


def create_namespace(client: Client, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client.create(
        Namespace(
            metadata=ObjectMeta(
                name=name,
                labels={
                    "pod-security.kubernetes.io/enforce": "restricted",
                    **BENCH_NAMESPACE,
                },
            )
        )
    )
    wait_until(
        f"ServiceAccount in {name}",
        lambda: kubectl("get", "sa", "default", "-n", name).returncode == 0,
    )
    return name


def existing(client: Client, namespace: str, objects: list[dict[str, Any]]) -> bool:
    for obj in objects:
        resource: Any = type(codecs.from_dict(obj))  # known only at run time
        try:
            client.get(resource, obj["metadata"]["name"], namespace=namespace)
        except ApiError:
            return False
    return True


def wait_for(condition: Any, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def ready(client: Client, namespace: str, name: str) -> bool:
    try:
        body = client.get(ContactCenterResource, name, namespace=namespace).to_dict()
    except Exception:
        return False
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in body.get("status", {}).get("conditions", [])
    )


def single_runs(client: Client, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Alternating runs: operator apply-to-children, plain apply of rendered objects, and the
    operator's apply-to-Ready."""
    operator_times, kubectl_times, ready_times = [], [], []
    for run in range(repeats):
        # The operator's way: apply the ContactCenter, wait for its children.
        namespace = create_namespace(client, "bench-op")
        children = [o for o in rendered(namespace) if o["kind"] != "Secret"]
        started = time.monotonic()
        assert kubectl("apply", "-f", "-", stdin=quickstart_in(namespace)).returncode == 0
        wait_for(lambda: existing(client, namespace, children), 60)  # noqa: B023
        operator_times.append(time.monotonic() - started)
        wait_for(lambda: ready(client, namespace, quickstart()["metadata"]["name"]), 60)  # noqa: B023
        ready_times.append(time.monotonic() - started)

        # The same objects applied directly.
        plain = create_namespace(client, "bench-raw")
        objects = rendered(plain)
        text = yaml.safe_dump_all(objects)
        started = time.monotonic()
        applied = kubectl("apply", "-f", "-", stdin=text)
        assert applied.returncode == 0, applied.stderr
        wait_for(lambda: existing(client, plain, objects), 60)  # noqa: B023
        kubectl_times.append(time.monotonic() - started)
        say(
            f"  run {run + 1}: operator {operator_times[-1]:.2f} s to children, "
            f"{ready_times[-1]:.2f} s to Ready; kubectl apply {kubectl_times[-1]:.2f} s"
        )
    return operator_times, kubectl_times, ready_times


def nodes_needed(count: int) -> int:
    """Fake nodes for `count` quickstarts, from the rendered pods' requests, with headroom."""
    objects = rendered("sizing")
    cpu = memory = pods = 0.0
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        replicas = obj["spec"].get("replicas", 1)
        for container in obj["spec"]["template"]["spec"]["containers"]:
            requests = container.get("resources", {}).get("requests", {})
            cpu += replicas * float(quantity_amount(str(requests.get("cpu", "0"))) or 0)
            memory += replicas * float(quantity_amount(str(requests.get("memory", "0"))) or 0)
        pods += replicas
    need = max(
        cpu * count / NODE["cpu"], memory * count / NODE["memory"], pods * count / NODE["pods"]
    )
    return math.ceil(need * 1.25) + 1


def fleet(client: Client, count: int, namespaces: int) -> tuple[float, list[str]]:
    """Time from one `kubectl apply` of `count` ContactCenters until every one is Ready."""
    spaces = [create_namespace(client, "bench-fleet") for _ in range(namespaces)]
    base = quickstart()
    manifests = [
        {**base, "metadata": {"name": f"cc-{index:03d}", "namespace": spaces[index % namespaces]}}
        for index in range(count)
    ]
    started = time.monotonic()
    applied = kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(manifests))
    assert applied.returncode == 0, applied.stderr

    def all_ready() -> bool:
        time.sleep(0.5)  # listing hundreds of objects is not free
        items = [
            item.to_dict()
            for space in spaces
            for item in client.list(ContactCenterResource, namespace=space)
        ]
        done = sum(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in i.get("status", {}).get("conditions", [])
            )
            for i in items
        )
        return done == count

    wait_for(all_ready, 600)
    return time.monotonic() - started, spaces


def restarted_amid_deletion(
    client: Client, operator: Operator, spaces: list[str]
) -> tuple[float, float]:
    """Seconds from applying a new quickstart until its children exist (the operator's part)
    and until it is Ready (the cluster's controllers' too), right after the operator restarts
    while the fleet's namespaces are being deleted: thousands of child events arrive at once."""
    operator.stop()
    for space in spaces:
        client.delete(Namespace, space)
    operator.start()
    namespace = create_namespace(client, "bench-op")
    children = [o for o in rendered(namespace) if o["kind"] != "Secret"]
    started = time.monotonic()
    assert kubectl("apply", "-f", "-", stdin=quickstart_in(namespace)).returncode == 0
    wait_for(lambda: existing(client, namespace, children), 120)
    children_seconds = time.monotonic() - started
    wait_for(lambda: ready(client, namespace, quickstart()["metadata"]["name"]), 120)
    return children_seconds, time.monotonic() - started


def events_since(client: Client, since: datetime) -> dict[str, int]:
    """Events (re)recorded since `since` in any namespace, by reason and source."""
    counts: Counter[str] = Counter()
    for event in client.list(Event, namespace="*"):
        when = event.lastTimestamp or event.eventTime or event.metadata.creationTimestamp
        if when and when >= since:
            source = (event.source.component if event.source else None) or event.reportingComponent
            counts[f"{event.reason} from {source}"] += 1
    return dict(counts)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs, 50 ContactCenters, 1 idle minute"
    )
    args = parser.parse_args()
    repeats, count, idle_seconds = (3, 50, 60) if args.quick else (7, 200, 300)

    status = subprocess.run(
        [sys.executable, str(REPO / "hack/cluster.py"), "status"], capture_output=True
    )
    started_cluster = status.returncode != 0
    if started_cluster:
        say("starting the local cluster")
        subprocess.run([sys.executable, str(REPO / "hack/cluster.py"), "up"], check=True)
    client = Client(config=KubeConfig.from_file(str(KUBECONFIG)), field_manager="bench")
    install_crd()
    remove_bench_namespaces(client)
    log = Path(tempfile.mkdtemp()) / "operator.log"
    operator = Operator(scope=["--namespace", "bench-*"], log_path=log)
    operator.start()
    try:
        say(f"single quickstart, {repeats} alternating runs")
        operator_times, kubectl_times, ready_times = single_runs(client, repeats)
        overhead = statistics.median(operator_times) / statistics.median(kubectl_times)

        nodes = len(list(client.list(Node)))
        wanted = nodes_needed(count)
        if wanted > nodes:
            say(f"adding {wanted - nodes} fake nodes for {count} ContactCenters")
            subprocess.run(
                [sys.executable, str(REPO / "hack/cluster.py"), "add-nodes", str(wanted - nodes)],
                check=True,
            )
        say(f"{count} ContactCenters applied at once")
        all_ready, fleet_spaces = fleet(client, count, namespaces=10)
        say(f"  all Ready after {all_ready:.1f} s")
        rss = peak_rss_mb(operator.process.pid) if operator.process else float("nan")

        time.sleep(5)  # the last status patches
        say(f"idle for {idle_seconds} s")
        before = operator_kind_writes_by_request()
        operator_before = metric_sum(operator.metrics(), "switchboard_api_writes_total")
        idle_from = datetime.now(UTC)
        time.sleep(idle_seconds)
        idle = operator_kind_writes_by_request() - before
        operator_idle_writes = (
            metric_sum(operator.metrics(), "switchboard_api_writes_total") - operator_before
        )
        idle_event_writes = sum(n for request, n in idle.items() if request.endswith(" events"))
        idle_object_writes = sum(idle.values()) - idle_event_writes
        if idle:
            say(f"  writes while idle: {dict(idle)}")
            recorded = events_since(client, idle_from)
            say(f"  events recorded while idle, by reason and source: {recorded}")
        rss = max(rss, peak_rss_mb(operator.process.pid) if operator.process else float("nan"))

        say("operator restarted while the fleet's namespaces are deleted; a new quickstart")
        amid_children, amid_ready = restarted_amid_deletion(client, operator, fleet_spaces)
        say(f"  children after {amid_children:.1f} s, Ready after {amid_ready:.1f} s")
    finally:
        operator.stop()
        remove_bench_namespaces(client)
        if started_cluster:
            subprocess.run([sys.executable, str(REPO / "hack/cluster.py"), "down"], check=False)

    figures = {
        "overhead_ratio": round(overhead, 3),
        "operator_apply_to_children_p50_seconds": round(statistics.median(operator_times), 3),
        "kubectl_apply_p50_seconds": round(statistics.median(kubectl_times), 3),
        "ready_p50_seconds": round(statistics.median(ready_times), 3),
        "all_ready_seconds": round(all_ready, 1),
        "count": count,
        "operator_peak_rss_mb": round(rss, 1),
        "idle_object_writes": int(idle_object_writes),
        "operator_idle_writes": int(operator_idle_writes),
        "idle_event_writes": int(idle_event_writes),
        "idle_seconds": idle_seconds,
        "children_after_restart_amid_deletion_seconds": round(amid_children, 1),
        "ready_after_restart_amid_deletion_seconds": round(amid_ready, 1),
    }
    say(
        f"overhead {overhead:.2f}x (target <= 2), Ready p50 {figures['ready_p50_seconds']} s "
        f"(target <= 5), {count} Ready in {all_ready:.1f} s (target <= 90 for 200), "
        f"peak RSS {rss:.0f} MB (target <= 250), idle object writes {int(idle_object_writes)} "
        f"and the operator's own {int(operator_idle_writes)} (target 0 each)"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
