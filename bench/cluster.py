"""The local control plane's own figures: start-up with warm binaries, a 3-replica
Deployment from `kubectl apply` to 3/3 available, and the memory the running components use.

    .venv/bin/python -m bench.cluster [--quick]

It stops a running local cluster first (its state is disposable) and leaves one running.
Targets: cluster-up <= 20 s, Deployment available <= 10 s. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.kube import REPO, kubectl

CLUSTER = [sys.executable, str(REPO / "hack" / "cluster.py")]
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench-web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: bench-web}}
  template:
    metadata: {labels: {app: bench-web}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            runAsNonRoot: true
            runAsUser: 1000
            seccompProfile: {type: RuntimeDefault}
"""


def cluster_up_seconds() -> float:
    subprocess.run([*CLUSTER, "down"], check=True, capture_output=True)
    started = time.monotonic()
    subprocess.run([*CLUSTER, "up"], check=True, capture_output=True)
    return time.monotonic() - started


def deployment_available_seconds() -> float:
    kubectl("delete", "deployment", "bench-web", "-n", "default", "--wait=true")
    started = time.monotonic()
    applied = kubectl("apply", "-f", "-", stdin=DEPLOYMENT)
    assert applied.returncode == 0, applied.stderr
    while True:
        status = kubectl(
            "get",
            "deployment",
            "bench-web",
            "-n",
            "default",
            "-o",
            "jsonpath={.status.availableReplicas}",
        )
        if status.stdout.strip() == "3":
            return time.monotonic() - started
        if time.monotonic() - started > 60:
            raise SystemExit("the Deployment did not become available within 60 s")
        time.sleep(0.05)


def control_plane_rss_mb() -> dict[str, float]:
    state = json.loads((REPO / ".cluster" / "state.json").read_text())
    memory = {}
    for name, pid in state["pids"].items():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                memory[name] = round(int(line.split()[1]) / 1024, 1)
    return memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one start and three Deployments")
    args = parser.parse_args()
    starts, deployments = (1, 3) if args.quick else (3, 7)
    up = [cluster_up_seconds() for _ in range(starts)]
    print(f"cluster-up (warm binaries): {', '.join(f'{s:.1f} s' for s in up)}", flush=True)
    available = [deployment_available_seconds() for _ in range(deployments)]
    print(f"3-replica Deployment to 3/3 available: {', '.join(f'{s:.2f} s' for s in available)}")
    kubectl("delete", "deployment", "bench-web", "-n", "default")
    memory = control_plane_rss_mb()
    print(f"control plane memory (RSS, MB): {memory}")
    print(
        json.dumps(
            {
                "cluster_up_p50_seconds": round(statistics.median(up), 2),
                "deployment_available_p50_seconds": round(statistics.median(available), 2),
                "control_plane_rss_mb": round(sum(memory.values()), 1),
                "control_plane_rss_mb_by_component": memory,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
