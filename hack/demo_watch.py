"""Prints, every few seconds, how an autoscaled ContactCenter rides the demo's time-lapsed
morning: simulated time, arrivals, bot replicas, service level, the operator's decision."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from typing import Any

KUBECTL = "bin/kubectl"


def read(kind: str, name: str, namespace: str) -> dict[str, Any]:
    out = subprocess.run(
        [KUBECTL, "get", kind, name, "-n", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    body: dict[str, Any] = json.loads(out.stdout)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("namespace")
    parser.add_argument("--speed", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--start", default="08:00", help="simulated clock at the start")
    args = parser.parse_args()
    hours, minutes = (int(part) for part in args.start.split(":"))
    print(f"{'sim time':>8}  {'calls/min':>9}  {'bot pods':>8}  {'service':>7}  decision")
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        time.sleep(5)
        simulated = hours * 60 + minutes + (time.monotonic() - started) * args.speed / 60
        sla = read("contactcenter", args.name, args.namespace).get("status", {}).get("sla", {})
        pods = read("deployment", f"{args.name}-bot", args.namespace)["spec"]["replicas"]
        rate = sla.get("arrivalRate")
        # Rates are in wall time; a simulated minute lasts 60 / speed wall seconds.
        per_minute = rate * 60 / args.speed if rate is not None else math.nan
        level = sla.get("serviceLevel", math.nan)
        decision = (sla.get("lastDecision") or "").split("; ")[0].removeprefix("bot: ")
        clock = f"{int(simulated) // 60:02d}:{int(simulated) % 60:02d}"
        row = f"{clock:>8}  {per_minute:9.1f}  {pods:8d}  {level:7.0%}  {decision[:80]}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
