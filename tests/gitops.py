"""How GitOps tools judge a ContactCenter, for the unit and integration tests: Argo CD runs the
chart's Lua health check (here with Lua 5.1, the language of Argo CD's gopher-lua), Flux and
kpt compute kstatus.

`kstatus` follows the rules the kstatus documentation gives (sigs.k8s.io/cli-utils,
pkg/kstatus): being deleted is Terminating; a status whose observedGeneration differs from
metadata.generation is InProgress; a Reconciling condition that is True is InProgress and a
Stalled one Failed; otherwise, for a custom resource without those, the Ready condition decides
(True: Current, False: InProgress), and without Ready the resource is taken as Current.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lupa.lua51

ARGOCD = (
    Path(__file__).resolve().parents[1]
    / "charts/switchboard/gitops/argocd/switchboard.io/ContactCenter"
)
HEALTH_LUA = ARGOCD / "health.lua"


def kstatus(obj: Mapping[str, Any]) -> str:
    meta, status = obj["metadata"], obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    observed, generation = status.get("observedGeneration"), meta.get("generation")
    if None not in (observed, generation) and observed != generation:
        return "InProgress"
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    if conditions.get("Reconciling") == "True":
        return "InProgress"
    if conditions.get("Stalled") == "True":
        return "Failed"
    if "Ready" in conditions:
        return "Current" if conditions["Ready"] == "True" else "InProgress"
    return "Current"


def argocd_health(obj: Mapping[str, Any]) -> dict[str, str]:
    """What the health check returns for `obj`: {"status": ..., "message": ...}."""
    lua = lupa.lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(dict(obj), recursive=True)
    result = lua.execute(HEALTH_LUA.read_text())
    return {key: str(value) for key, value in result.items()}
