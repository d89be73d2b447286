"""How GitOps tools see a ContactCenter, on status objects captured from the integration tests
(and, for rollouts, which do not run yet, the same objects with a rollout status of the API's
shape): the Argo CD health check maps Ready, Degraded, Progressing and the rollout phases to
Healthy, Degraded, Progressing and Suspended; kstatus (Flux, kpt) reads the same lifecycle.

The cases are in Argo CD's own layout (health_test.yaml, testdata/), so they can go upstream
into Argo CD's resource_customizations as they are.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import ContactCenterStatus, RolloutStatus
from tests.gitops import ARGOCD, argocd_health, kstatus

CASES = yaml.safe_load((ARGOCD / "health_test.yaml").read_text())["tests"]
TESTDATA = sorted((ARGOCD / "testdata").glob("*.yaml"))
PHASES = typing.get_args(RolloutStatus.model_fields["phase"].annotation)
ARGO_HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended"}

# kstatus through the lifecycle, from its rules (tests/gitops.py).
KSTATUS = {
    "progressing.yaml": "InProgress",  # components rolling out: Ready=False
    "healthy.yaml": "Current",
    "generation-not-observed.yaml": "InProgress",  # a spec edit the operator has not seen
    "degraded.yaml": "InProgress",  # waiting for a Secret: Ready=False, no Stalled condition
    "rollout-progressing.yaml": "Current",  # serving while the canary runs (Ready=True)
    "rollout-paused.yaml": "Current",
}


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


@pytest.mark.parametrize("case", CASES, ids=lambda case: Path(case["inputPath"]).stem)
def test_argocd_health(case: dict[str, Any]) -> None:
    assert argocd_health(load(ARGOCD / case["inputPath"])) == case["healthStatus"]


def test_every_testdata_file_has_a_case_and_every_health_is_reached() -> None:
    assert {ARGOCD / case["inputPath"] for case in CASES} == set(TESTDATA)
    assert {case["healthStatus"]["status"] for case in CASES} == ARGO_HEALTH


@pytest.mark.parametrize("path", TESTDATA, ids=lambda path: path.name)
def test_testdata_has_the_api_s_shape(path: Path) -> None:
    obj = load(path)
    ContactCenter.model_validate(obj)
    if "status" in obj:
        ContactCenterStatus.model_validate(obj["status"])


def test_every_rollout_phase_is_covered() -> None:
    covered = {load(path).get("status", {}).get("rollout", {}).get("phase") for path in TESTDATA}
    assert set(PHASES) <= covered, f"no case for rollout phase {set(PHASES) - covered}"


@pytest.mark.parametrize("name", sorted(KSTATUS))
def test_kstatus_through_the_lifecycle(name: str) -> None:
    assert kstatus(load(ARGOCD / "testdata" / name)) == KSTATUS[name]
