from typing import Any

from switchboard.controllers.status import (
    Problem,
    compute_status,
    external_readiness,
    set_condition,
    workload_readiness,
)

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def deployment(
    replicas: int,
    available: int,
    generation: int = 2,
    observed: int = 2,
    updated: int | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "availableReplicas": available,
            "updatedReplicas": replicas if updated is None else updated,
            "replicas": replicas if total is None else total,
        },
    }


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_deployment_is_rolled_out_only_when_current_available_and_without_old_pods() -> None:
    assert workload_readiness("Deployment", deployment(2, 2)).rolled_out
    assert not workload_readiness("Deployment", deployment(2, 1)).rolled_out
    assert not workload_readiness("Deployment", deployment(2, 2, generation=3)).rolled_out
    assert not workload_readiness("Deployment", deployment(2, 2, updated=1)).rolled_out
    assert not workload_readiness("Deployment", deployment(2, 2, total=3)).rolled_out
    assert not workload_readiness("Deployment", None).rolled_out


def test_statefulset_waits_for_its_update_revision() -> None:
    live = deployment(1, 1)
    live["status"] |= {"currentRevision": "db-1", "updateRevision": "db-2"}
    assert not workload_readiness("StatefulSet", live).rolled_out
    live["status"]["currentRevision"] = "db-2"
    assert workload_readiness("StatefulSet", live).rolled_out


def test_ready_summarises_every_component() -> None:
    components = {
        "web": workload_readiness("Deployment", deployment(2, 2)),
        "database": workload_readiness("StatefulSet", deployment(1, 0)),
        "queue": external_readiness(),
    }
    status = compute_status({}, 2, 1, components, [], T0)
    ready = condition(status, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ComponentsNotReady"
    assert "database (0/1 ready)" in ready["message"] and "web" not in ready["message"]
    assert condition(status, "Progressing")["status"] == "True"
    assert status["components"]["web"] == {"kind": "Deployment", "ready": 2, "desired": 2}
    assert status["observedGeneration"] == 2

    components["database"] = workload_readiness("StatefulSet", deployment(1, 1))
    status = compute_status(status, 2, 1, components, [], T1)
    assert condition(status, "Ready")["status"] == "True"
    assert condition(status, "Ready")["lastTransitionTime"] == T1
    assert condition(status, "Progressing")["status"] == "False"


def test_a_problem_makes_the_contact_center_degraded_and_not_ready() -> None:
    problem = Problem("SecretNotFound", "Secret support/db not found; waiting for it")
    components = {"web": workload_readiness("Deployment", deployment(1, 1))}
    status = compute_status({}, 1, 1, components, [problem], T0)
    assert condition(status, "Degraded") | {"lastTransitionTime": None} == {
        "type": "Degraded",
        "status": "True",
        "reason": "SecretNotFound",
        "message": "Secret support/db not found; waiting for it",
        "observedGeneration": 1,
        "lastTransitionTime": None,
    }
    assert condition(status, "Ready")["reason"] == "SecretNotFound"


def test_transition_time_moves_only_when_the_status_flips() -> None:
    conditions = set_condition([], "Ready", False, "ComponentsNotReady", "a", 1, T0)
    conditions = set_condition(conditions, "Ready", False, "ComponentsNotReady", "b", 2, T1)
    assert conditions[0]["lastTransitionTime"] == T0 and conditions[0]["message"] == "b"
    conditions = set_condition(conditions, "Ready", True, "AllComponentsReady", "", 2, T1)
    assert conditions[0]["lastTransitionTime"] == T1


def test_recomputing_an_unchanged_world_gives_an_equal_status() -> None:
    components = {"web": workload_readiness("Deployment", deployment(1, 1))}
    first = compute_status({"sla": {"arrivalRate": 1.5}}, 1, 1, components, [], T0)
    again = compute_status(first, 1, 1, components, [], T1)
    assert again == first  # so the operator writes nothing
    assert again["sla"] == {"arrivalRate": 1.5}  # fields of other loops are kept
