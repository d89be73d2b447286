"""Reconcile speed and cost: the operator against `kubectl apply` of the same objects, time
to Ready, a fleet of ContactCenters applied at once, what an idle operator writes, and a leader
takeover at that size.

    .venv/bin/python -m bench.reconcile [--quick] [--count N]

Everything runs against the local control plane (started if it is not running) with the
operator as real processes: two replicas with leader election, as the Helm chart runs it (the
default timings: a 15 s lease renewed every 2 s). Figures:

- overhead_ratio: median time from `kubectl apply` of the quickstart until every child
  exists, over the median time `kubectl apply` of the objects `switchboard render` prints
  takes to create them (alternating runs, fresh namespaces). Target <= 2.
- ready_p50_seconds: median time from apply of the quickstart to Ready=True. Target <= 5.
- reference_apply_seconds: `kubectl apply --server-side` of every child of the fleet, as
  `switchboard render` prints them, into namespaces of their own (deleted before the fleet).
- all_ready_seconds (with count): the fleet applied in one `kubectl apply --server-side`,
  until every ContactCenter is Ready; fleet_ratio is it over reference_apply_seconds. Target
  <= 1.5 for 1,000.
- operator_peak_rss_mb: the peak resident memory (VmHWM) of the leader and of the follower,
  whose caches are as warm. Target <= 300.
- idle_object_writes: write requests the apiserver served on the objects the operator writes
  (ContactCenters and their children, status included), during the idle period after the fleet
  is Ready (apiserver_request_total). Target 0.
- operator_idle_writes: the operator's own count of its write requests in that period, Events
  included (the Lease's renewals are not among them). Target 0.
- idle_event_writes: Event writes the apiserver served in that period, from any component (the
  apiserver cannot say whose; the Events recorded then are listed by reason and source).
- takeover_*: the leader killed with SIGKILL at fleet size: seconds from the lease's expiry
  (its last renewTime plus its duration) and from the kill until the follower reconciles
  (target <= 15 after the expiry), until it has reconciled every ContactCenter once, and what
  the apiserver was asked to write meanwhile.
- children_after_restart_amid_deletion_seconds, ready_after_restart_amid_deletion_seconds: the
  operator restarted while the fleet's namespaces are being deleted, the time from `kubectl
  apply` of a new quickstart until its children exist, and until it is Ready.
- load: the machine's load averages (1 and 5 minutes) when each phase ended, and its CPUs.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Event, Namespace, Node
from tests.integration.kube import KUBECONFIG, REPO, kubectl, wait_until
from tests.integration.operator import (
    Operator,
    install_crd,
    metric_sum,
    operator_kind_writes_by_request,
    render,
)

from switchboard import GROUP, PLURAL, VERSION
from switchboard.resources.command import KubernetesDumper
from switchboard.resources.drift import quantity_amount

ContactCenterResource = create_namespaced_resource(GROUP, VERSION, "ContactCenter", PLURAL)
QUICKSTART = REPO / "examples" / "quickstart.yaml"
LEASE, LEASE_NAMESPACE = "switchboard-bench", "default"
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
    return render([manifest])


def fleet_manifests(spaces: list[str], count: int) -> list[dict[str, Any]]:
    """`count` quickstarts spread over `spaces`."""
    base = quickstart()
    return [
        {**base, "metadata": {"name": f"cc-{index:04d}", "namespace": spaces[index % len(spaces)]}}
        for index in range(count)
    ]


BENCH_NAMESPACE = {"switchboard.io/bench": "reconcile"}  # the label of the bench's namespaces
CLEAN_UP_SECONDS = 1800  # a fleet of 1,000 takes minutes to go


def remove_bench_namespaces(client: Client, names: list[str] | None = None) -> None:
    """Deletes the bench's namespaces (an interrupted run's too), or those named, and waits
    until they are gone: an operator started amid the deletion of a fleet first works through
    thousands of events of dying objects, which would be timed as its reconcile."""

    def remaining() -> list[str]:
        listed = [n.metadata.name for n in client.list(Namespace, labels=dict(BENCH_NAMESPACE))]
        return [name for name in listed if names is None or name in names]

    for name in remaining():
        client.delete(Namespace, name)
    deadline = time.monotonic() + CLEAN_UP_SECONDS
    while remaining():
        if time.monotonic() > deadline:
            say(f"bench namespaces still terminating after {CLEAN_UP_SECONDS} s")
            return
        time.sleep(2)


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
    # The quickstart's dialogue model, which its bot mounts.
    models = kubectl("apply", "-k", str(REPO / "examples" / "models"), "-n", name)
    assert models.returncode == 0, models.stderr
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


def is_ready(status: Mapping[str, Any] | None) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (status or {}).get("conditions", [])
    )


def ready(client: Client, namespace: str, name: str) -> bool:
    try:
        body = client.get(ContactCenterResource, name, namespace=namespace).to_dict()
    except Exception:
        return False
    return is_ready(body.get("status"))


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
        text = yaml.dump_all(objects, Dumper=KubernetesDumper)
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


def reference_apply(client: Client, count: int, namespaces: int) -> tuple[float, int]:
    """Seconds `kubectl apply --server-side` takes to create every child of a fleet of `count`
    quickstarts, as `switchboard render` prints them, in namespaces of its own (deleted
    afterwards, before the operator's fleet), and how many objects that is."""
    # Outside the operators' scope (bench-*): they would otherwise cache every child too.
    spaces = [create_namespace(client, "reference") for _ in range(namespaces)]
    children = render(fleet_manifests(spaces, count))
    text = yaml.dump_all(children, Dumper=KubernetesDumper)
    started = time.monotonic()
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=text)
    seconds = time.monotonic() - started
    assert applied.returncode == 0, applied.stderr[-2000:]
    remove_bench_namespaces(client, spaces)
    return seconds, len(children)


def fleet(client: Client, count: int, namespaces: int) -> tuple[float, list[str]]:
    """Seconds from one `kubectl apply --server-side` of `count` ContactCenters until every
    one is Ready."""
    spaces = [create_namespace(client, "bench-fleet") for _ in range(namespaces)]
    manifests = fleet_manifests(spaces, count)
    started = time.monotonic()
    # Server-side, as the reference applies the children (and as GitOps tools apply).
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(manifests))
    assert applied.returncode == 0, applied.stderr
    # Listed once, then watched, as a GitOps tool waits on its objects: one stream of changes
    # costs the apiserver that the operator shares far less than listing 1,000 ContactCenters
    # every few seconds (which also cost this process a core-minute or two).
    ready: set[tuple[str, str]] = set()
    while len(ready) < count:
        listed = client.list(ContactCenterResource, namespace="*")
        changes: list[tuple[str, Any]] = [("ADDED", cc) for cc in listed]
        ready = set()
        try:
            for change, cc in itertools.chain(
                changes,
                client.watch(
                    ContactCenterResource, namespace="*", resource_version=listed.resourceVersion
                ),
            ):
                meta = cc.get("metadata") or {}  # the raw body: no model parsed for each change
                if meta.get("namespace") not in spaces:
                    continue
                key = (meta["namespace"], meta["name"])
                if change != "DELETED" and is_ready(cc.get("status")):
                    ready.add(key)
                else:
                    ready.discard(key)
                if len(ready) == count:
                    break
                if time.monotonic() - started > 3600:
                    raise SystemExit("timed out after 3600 s")
        except ApiError as error:
            if error.status.code != 410:
                raise
            say("  the watch fell behind the apiserver's history; listing again")
    return time.monotonic() - started, spaces


def takeover(client: Client, leader: Operator, follower: Operator, count: int) -> dict[str, Any]:
    """Kills the leader with SIGKILL; seconds from the lease's expiry and from the kill until
    the follower leads, reconciles, and has reconciled every ContactCenter once, and the writes
    the apiserver was asked for meanwhile."""
    reconciled = metric_sum(follower.metrics(), "switchboard_reconcile_total")
    before = operator_kind_writes_by_request()
    killed = datetime.now(UTC)
    leader.kill()
    last = client.get(Lease, LEASE, namespace=LEASE_NAMESPACE).spec
    expiry = last.renewTime + timedelta(seconds=last.leaseDurationSeconds)

    def reconciles() -> float:
        return metric_sum(follower.metrics(), "switchboard_reconcile_total")

    wait_for(lambda: leads(follower), 120)
    leading = datetime.now(UTC)
    wait_for(lambda: reconciles() > reconciled, 120)
    reconciling = datetime.now(UTC)
    wait_for(lambda: reconciles() >= reconciled + count, 1800)
    resynced = datetime.now(UTC)
    time.sleep(5)
    writes = operator_kind_writes_by_request() - before
    return {
        "takeover_leads_after_expiry_seconds": round((leading - expiry).total_seconds(), 1),
        "takeover_reconciles_after_expiry_seconds": round(
            (reconciling - expiry).total_seconds(), 1
        ),
        "takeover_reconciles_after_kill_seconds": round((reconciling - killed).total_seconds(), 1),
        "takeover_all_reconciled_after_kill_seconds": round((resynced - killed).total_seconds(), 1),
        "takeover_writes": dict(writes),
    }


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
    with contextlib.suppress(OSError):  # its metrics may not be served yet
        depth = metric_sum(operator.metrics(), "switchboard_workqueue_depth")
        say(f"  {depth:.0f} reconciles queued as the quickstart was applied")
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


def replica(name: str, directory: Path) -> Operator:
    """An operator replica with leader election, as the chart runs it (default timings)."""
    return Operator(
        scope=["--namespace", "bench-*"],
        log_path=directory / f"{name}.log",
        options=[
            "--leader-election",
            f"--leader-election-namespace={LEASE_NAMESPACE}",
            f"--leader-election-id={LEASE}",
        ],
    )


def leads(operator: Operator) -> bool:
    return operator.leadership()[1]


def load() -> list[float]:
    return [round(value, 1) for value in os.getloadavg()[:2]]


def peak_rss_mb(operator: Operator) -> float:
    assert operator.process is not None
    for line in Path(f"/proc/{operator.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def idle(client: Client, operator: Operator, seconds: float) -> dict[str, int]:
    """Writes while the fleet is Ready and nothing changes."""
    before = operator_kind_writes_by_request()
    operator_before = metric_sum(operator.metrics(), "switchboard_api_writes_total")
    idle_from = datetime.now(UTC)
    time.sleep(seconds)
    writes = operator_kind_writes_by_request() - before
    own = metric_sum(operator.metrics(), "switchboard_api_writes_total") - operator_before
    events = sum(n for request, n in writes.items() if request.endswith(" events"))
    if writes:
        say(f"  writes while idle: {dict(writes)}")
        say(
            f"  events recorded while idle, by reason and source: {events_since(client, idle_from)}"
        )
    return {
        "idle_object_writes": sum(writes.values()) - events,
        "operator_idle_writes": int(own),
        "idle_event_writes": events,
    }


def add_nodes_for(client: Client, count: int) -> None:
    nodes = len(list(client.list(Node)))
    wanted = nodes_needed(count)
    if wanted > nodes:
        say(f"adding {wanted - nodes} fake nodes for {count} ContactCenters")
        subprocess.run(
            [sys.executable, str(REPO / "hack/cluster.py"), "add-nodes", str(wanted - nodes)],
            check=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs, 100 ContactCenters, 1 idle minute"
    )
    parser.add_argument("--count", type=int, help="ContactCenters in the fleet")
    args = parser.parse_args()
    repeats, count, idle_seconds = (3, 100, 60) if args.quick else (5, 1000, 300)
    count = args.count or count
    namespaces = 10

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
    logs = Path(tempfile.mkdtemp())
    leader, follower = replica("leader", logs), replica("follower", logs)
    figures: dict[str, Any] = {"count": count, "cpus": os.cpu_count(), "load": {}}
    say(f"operator logs in {logs}; load {load()} on {os.cpu_count()} CPUs")
    try:
        leader.start()
        wait_for(lambda: leads(leader), 60)
        follower.start()

        say(f"single quickstart, {repeats} alternating runs")
        operator_times, kubectl_times, ready_times = single_runs(client, repeats)
        figures |= {
            "overhead_ratio": round(
                statistics.median(operator_times) / statistics.median(kubectl_times), 3
            ),
            "operator_apply_to_children_p50_seconds": round(statistics.median(operator_times), 3),
            "kubectl_apply_p50_seconds": round(statistics.median(kubectl_times), 3),
            "ready_p50_seconds": round(statistics.median(ready_times), 3),
        }
        figures["load"]["single"] = load()

        add_nodes_for(client, count)
        say(f"kubectl apply --server-side of the children of {count} quickstarts")
        reference, objects = reference_apply(client, count, namespaces)
        say(f"  {objects} objects in {reference:.1f} s; load {load()}")
        figures |= {"reference_apply_seconds": round(reference, 1), "reference_objects": objects}
        figures["load"]["reference"] = load()

        say(f"{count} ContactCenters applied at once")
        all_ready, fleet_spaces = fleet(client, count, namespaces)
        say(f"  all Ready after {all_ready:.1f} s")
        figures |= {
            "all_ready_seconds": round(all_ready, 1),
            "fleet_ratio": round(all_ready / reference, 3),
        }
        figures["load"]["fleet"] = load()

        time.sleep(5)  # the last status patches
        say(f"idle for {idle_seconds} s")
        figures |= idle(client, leader, idle_seconds) | {"idle_seconds": idle_seconds}
        figures["load"]["idle"] = load()
        rss = {"leader": peak_rss_mb(leader), "follower": peak_rss_mb(follower)}

        say("the leader killed with SIGKILL")
        figures |= takeover(client, leader, follower, count)
        say(f"  {figures}")
        figures["load"]["takeover"] = load()
        rss["follower"] = peak_rss_mb(follower)
        figures["operator_peak_rss_mb"] = rss

        say("operator restarted while the fleet's namespaces are deleted; a new quickstart")
        try:
            amid_children, amid_ready = restarted_amid_deletion(client, follower, fleet_spaces)
        except SystemExit as timed_out:
            # The figures above stand on their own; this phase's failure is one of them.
            say(f"  {timed_out}")
            figures["restart_amid_deletion"] = str(timed_out)
        else:
            say(f"  children after {amid_children:.1f} s, Ready after {amid_ready:.1f} s")
            figures |= {
                "children_after_restart_amid_deletion_seconds": round(amid_children, 1),
                "ready_after_restart_amid_deletion_seconds": round(amid_ready, 1),
            }
        figures["load"]["restart"] = load()
    finally:
        leader.stop()
        follower.stop()
        remove_bench_namespaces(client)
        if started_cluster:
            subprocess.run([sys.executable, str(REPO / "hack/cluster.py"), "down"], check=False)

    say(
        f"overhead {figures['overhead_ratio']}x (target <= 2), Ready p50 "
        f"{figures['ready_p50_seconds']} s (target <= 5); {count} Ready in {all_ready:.1f} s, "
        f"{figures['fleet_ratio']}x kubectl apply's {reference:.1f} s (target <= 1.5); peak RSS "
        f"{rss} MB (target <= 300); idle object writes {figures['idle_object_writes']} and the "
        f"operator's own {figures['operator_idle_writes']} (target 0 each); takeover reconciles "
        f"{figures['takeover_reconciles_after_expiry_seconds']} s after the lease expired "
        f"(target <= 15)"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
