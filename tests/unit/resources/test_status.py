from datetime import UTC, datetime
from typing import Any

from switchboard.api.channels import Channel
from switchboard.api.status import Condition, ContactCenterStatus
from switchboard.resources.status import (
    Assessment,
    ComponentReadiness,
    Problem,
    compute_status,
    degraded,
    external_readiness,
    set_condition,
    status_document,
    without_adapter,
    workload_readiness,
)

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 5, 30, 123456, tzinfo=UTC)
EMPTY = ContactCenterStatus()


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


def condition(status: ContactCenterStatus, type_: str) -> Condition:
    return next(c for c in status.conditions if c.type == type_)


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
    status = compute_status(EMPTY, 2, 1, components, [], T0)
    ready = condition(status, "Ready")
    assert ready.status == "False" and ready.reason == "ComponentsNotReady"
    assert "database (0/1 ready)" in ready.message and "web" not in ready.message
    assert condition(status, "Progressing").status == "True"
    assert status_document(status)["components"]["web"] == {
        "kind": "Deployment",
        "ready": 2,
        "desired": 2,
    }
    assert status.observed_generation == 2

    components["database"] = workload_readiness("StatefulSet", deployment(1, 1))
    status = compute_status(status, 2, 1, components, [], T1)
    assert condition(status, "Ready").status == "True"
    assert condition(status, "Ready").last_transition_time == T1
    assert condition(status, "Progressing").status == "False"


def test_a_problem_makes_the_contact_center_degraded_and_not_ready() -> None:
    problem = Problem("SecretNotFound", "Secret support/db not found; waiting for it")
    components = {"web": workload_readiness("Deployment", deployment(1, 1))}
    status = compute_status(EMPTY, 1, 1, components, [problem], T0)
    written = next(c for c in status_document(status)["conditions"] if c["type"] == "Degraded")
    assert written == {
        "type": "Degraded",
        "status": "True",
        "reason": "SecretNotFound",
        "message": "Secret support/db not found; waiting for it",
        "observedGeneration": 1,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    assert condition(status, "Ready").reason == "SecretNotFound"
    assert degraded(status) == problem
    assert degraded(compute_status(status, 1, 1, components, [], T1)) is None


def test_transition_time_moves_only_when_the_status_flips() -> None:
    waiting = Assessment("Ready", False, "ComponentsNotReady", "a")
    conditions = set_condition([], waiting, 1, T0)
    conditions = set_condition(conditions, Assessment("Ready", False, "X", "b"), 2, T1)
    assert conditions[0].last_transition_time == T0 and conditions[0].message == "b"
    conditions = set_condition(conditions, Assessment("Ready", True, "Y", ""), 2, T1)
    assert conditions[0].last_transition_time == T1


def test_times_are_written_as_kubernetes_writes_them() -> None:
    conditions = set_condition([], Assessment("Ready", True, "AllComponentsReady", ""), 1, T1)
    written = status_document(ContactCenterStatus(conditions=conditions))
    assert written["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:05:30Z"


def test_recomputing_an_unchanged_world_writes_nothing() -> None:
    """What is stored is read back and built again: it must come out the same, or an idle
    operator would write on every reconcile."""
    components = {"web": workload_readiness("Deployment", deployment(1, 2, total=2))}
    stored = {"sla": {"arrivalRate": 1.5, "lastScaleTime": "2026-01-01T00:00:00Z"}}
    first = status_document(
        compute_status(ContactCenterStatus.model_validate(stored), 1, 1, components, [], T0)
    )
    again = status_document(
        compute_status(ContactCenterStatus.model_validate(first), 1, 1, components, [], T1)
    )
    assert again == first
    assert again["sla"]["arrivalRate"] == 1.5  # fields of other loops are kept
    assert again["sla"]["lastScaleTime"] == "2026-01-01T00:00:00Z"
    assert "message" in again["components"]["web"]


def test_a_gateway_of_a_channel_type_without_an_adapter_says_it_serves_no_customers() -> None:
    running = ComponentReadiness("Deployment", 1, 1, True, None)
    voice = Channel(name="phone", type="voice")
    for served in ("webchat", "api", "sms", "whatsapp", "social"):
        assert without_adapter(running, Channel(name="c", type=served)) == running
    mail = Channel.model_validate(
        {"name": "mail", "type": "email", "email": {"address": "a@b.c", "smtp": {"host": "d"}}}
    )
    assert without_adapter(running, mail) == running
    noted = without_adapter(running, voice)
    assert noted.rolled_out and noted.message == (
        "the voice provider adapter is not built yet: this gateway serves no customers"
    )
    starting = ComponentReadiness("Deployment", 0, 1, False, "0/1 ready")
    assert without_adapter(starting, voice).message == (
        "0/1 ready; the voice provider adapter is not built yet: this gateway serves no customers"
    )
