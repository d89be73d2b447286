"""Prints, every few seconds while a process runs (the demo's load generator), how an autoscaled
ContactCenter's bot rides it: the arrival rate and service level the operator reads from
Prometheus, the replicas it set, the bot processes hack/pods.py runs, and its reason.

    python hack/demo_watch.py NAMESPACE CONTACT_CENTER --while-running PID
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KUBECTL = REPO / "bin" / "kubectl"
EVERY_SECONDS = 5.0


def read(kind: str, name: str, namespace: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(KUBECTL), "get", kind, name, "-n", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    body: dict[str, Any] = json.loads(out.stdout)
    return body


def running_bots(namespace: str, name: str) -> int:
    """Ready bot processes, from pods.py's state."""
    state = json.loads((REPO / ".cluster" / "pods" / namespace / f"{name}.json").read_text())
    return sum(1 for pod in state["pods"] if pod["deployment"] == f"{name}-bot" and pod["ready"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("namespace")
    parser.add_argument("name", help="the ContactCenter")
    parser.add_argument("--while-running", type=int, required=True, metavar="PID")
    args = parser.parse_args()
    print(
        f"{'time':>5}  {'arrivals':>8}  {'bot replicas':>12}  {'service':>7}  the operator's reason"
    )
    started = time.monotonic()
    while alive(args.while_running):
        time.sleep(EVERY_SECONDS)
        sla = read("contactcenter", args.name, args.namespace).get("status", {}).get("sla", {})
        replicas = read("deployment", f"{args.name}-bot", args.namespace)["spec"]["replicas"]
        rate = f"{sla['arrivalRate']:.2f}/s" if "arrivalRate" in sla else "-"
        level = f"{sla['serviceLevel']:.0%}" if "serviceLevel" in sla else "-"
        reason = (sla.get("lastDecision") or "").removeprefix("bot: ")
        pods = f"{replicas} ({running_bots(args.namespace, args.name)} run)"
        elapsed = f"{time.monotonic() - started:.0f}s"
        print(f"{elapsed:>5}  {rate:>8}  {pods:>12}  {level:>7}  {reason}", flush=True)


if __name__ == "__main__":
    main()
