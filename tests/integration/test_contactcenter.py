"""The operator against the real apiserver: one manifest becomes a running contact center,
kept that way, reported honestly, and taken down without losing conversation history."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    PersistentVolumeClaim,
    Secret,
)
from lightkube.resources.storage_v1 import StorageClass

from switchboard.resources.drift import difference
from switchboard.resources.kinds import CHILD_KINDS
from tests.factory import valid_manifest
from tests.integration.contactcenters import (
    ContactCenterResource,
    apply,
    contact_center,
    wait_for_condition,
)
from tests.integration.kube import REPO, kubectl, wait_until
from tests.integration.operator import (
    SWITCHBOARD,
    Operator,
    metric_sum,
    operator_kind_writes_by_request,
)

STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)
CHILD_RESOURCES = ",".join([*(child.plural for child in CHILD_KINDS), "secrets"])


def minimal(name: str, **spec: Any) -> dict[str, Any]:
    """The catalogue's small valid ContactCenter, with `spec` fields replaced."""
    manifest = valid_manifest(name)
    manifest["spec"].update(spec)
    return manifest


def children(namespace: str, name: str) -> list[dict[str, Any]]:
    listed = kubectl(
        "get",
        CHILD_RESOURCES,
        "-n",
        namespace,
        "-l",
        f"app.kubernetes.io/instance={name}",
        "-o",
        "json",
    )
    assert listed.returncode == 0, listed.stderr
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items


def test_a_contact_center_becomes_ready_with_owned_labelled_children(
    client: Client, namespace: str, operator: Operator
) -> None:
    apply(namespace, minimal("acme"))
    body = wait_for_condition(client, namespace, "acme", "Ready", timeout=60)
    uid = body["metadata"]["uid"]
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]
    assert set(body["status"]["components"]) >= {"web", "bot", "agents", "queue", "database"}
    assert all(c["ready"] == c["desired"] for c in body["status"]["components"].values())

    items = children(namespace, "acme")
    kinds = {item["kind"] for item in items}
    assert kinds >= {"Deployment", "StatefulSet", "Service", "ConfigMap", "Secret", "NetworkPolicy"}
    for item in items:
        meta = item["metadata"]
        what = f"{item['kind']} {meta['name']}"
        assert all(label in meta["labels"] for label in STANDARD_LABELS), what
        assert meta["labels"]["app.kubernetes.io/instance"] == "acme", what
        if item["kind"] == "Secret" and "database" in meta["name"]:
            continue  # kept with the database volume under deletionPolicy Retain
        assert [ref["uid"] for ref in meta.get("ownerReferences", [])] == [uid], what

    listed = kubectl("get", "all", "-n", namespace, "-l", "app.kubernetes.io/instance=acme")
    assert "deployment.apps/acme-bot" in listed.stdout
    assert "statefulset.apps/acme-database" in listed.stdout


def test_render_shows_what_lands_in_the_cluster(
    client: Client, namespace: str, operator: Operator, tmp_path: Path
) -> None:
    manifest = minimal("render-me")
    path = tmp_path / "cc.yaml"
    manifest_here = {**manifest, "metadata": {"name": "render-me", "namespace": namespace}}
    path.write_text(yaml.safe_dump(manifest_here))
    rendered = subprocess.run(
        [str(SWITCHBOARD), "render", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    objects = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    assert objects, "render printed no objects"

    apply(namespace, manifest)
    wait_for_condition(client, namespace, "render-me", "Ready", timeout=60)
    for expected in objects:
        if expected["kind"] == "Secret":
            continue  # rendered without values; the operator generates them once
        meta = expected["metadata"]
        live = kubectl("get", expected["kind"], meta["name"], "-n", namespace, "-o", "json")
        assert live.returncode == 0, f"{expected['kind']} {meta['name']} missing: {live.stderr}"
        # Owner references carry the ContactCenter's uid, which render cannot know.
        expected_meta = {k: v for k, v in meta.items() if k != "ownerReferences"}
        drift = difference(json.loads(live.stdout), {**expected, "metadata": expected_meta})
        assert drift is None, f"{expected['kind']} {meta['name']} differs at {drift}"


def test_drifted_children_are_restored_within_ten_seconds(
    client: Client, namespace: str, operator: Operator
) -> None:
    apply(namespace, minimal("drift"))
    wait_for_condition(client, namespace, "drift", "Ready", timeout=60)
    original = client.get(Deployment, "drift-bot", namespace=namespace)
    wanted_replicas = original.spec.replicas

    client.delete(Deployment, "drift-bot", namespace=namespace)
    wait_until(
        "the deleted bot Deployment to be recreated",
        lambda: (
            client.get(Deployment, "drift-bot", namespace=namespace).metadata.uid
            != original.metadata.uid
        ),
        timeout=10,
    )

    client.patch(
        Deployment, "drift-bot", {"spec": {"replicas": wanted_replicas + 3}}, namespace=namespace
    )
    wait_until(
        "replicas edited by hand to be restored",
        lambda: (
            client.get(Deployment, "drift-bot", namespace=namespace).spec.replicas
            == wanted_replicas
        ),
        timeout=10,
    )

    wiring = next(
        cm
        for cm in client.list(
            ConfigMap, namespace=namespace, labels={"app.kubernetes.io/instance": "drift"}
        )
    )
    before = dict(wiring.data or {})
    key = next(iter(before))
    client.patch(ConfigMap, wiring.metadata.name, {"data": {key: "tampered"}}, namespace=namespace)
    wait_until(
        "the wiring ConfigMap to be restored",
        lambda: (
            (client.get(ConfigMap, wiring.metadata.name, namespace=namespace).data or {}).get(key)
            == before[key]
        ),
        timeout=10,
    )


def test_a_missing_secret_degrades_then_recovers_when_it_appears(
    client: Client, namespace: str, operator: Operator
) -> None:
    manifest = minimal("ext", queue={"external": {"secretRef": {"name": "queue-uri"}}})
    apply(namespace, manifest)
    body = wait_for_condition(client, namespace, "ext", "Degraded", reason="SecretNotFound")
    degraded = next(c for c in body["status"]["conditions"] if c["type"] == "Degraded")
    assert f"Secret {namespace}/queue-uri not found" in degraded["message"]
    assert (
        next(c for c in body["status"]["conditions"] if c["type"] == "Ready")["status"] == "False"
    )
    # Never half-applied: nothing was created while the prerequisite is missing.
    assert children(namespace, "ext") == []

    client.create(
        Secret(metadata=ObjectMeta(name="queue-uri"), stringData={"uri": "amqp://u:p@mq:5672/"}),
        namespace=namespace,
    )
    body = wait_for_condition(client, namespace, "ext", "Ready", timeout=60)
    assert body["status"]["components"]["queue"]["kind"] == "External"
    assert not any(
        item["kind"] == "StatefulSet" and item["metadata"]["name"] == "ext-queue"
        for item in children(namespace, "ext")
    )


def test_required_encryption_at_rest_refuses_a_storage_class_until_it_declares_it(
    client: Client, namespace: str, operator: Operator
) -> None:
    plain = f"plain-{uuid.uuid4().hex[:8]}"
    client.create(
        StorageClass(metadata=ObjectMeta(name=plain), provisioner="kubernetes.io/host-path")
    )
    try:
        apply(
            namespace,
            minimal(
                "vault",
                queue={"storageClassName": plain},
                database={"storageClassName": plain},
                dataProtection={"encryptionAtRest": "Required"},
            ),
        )
        body = wait_for_condition(
            client, namespace, "vault", "Degraded", reason="StorageNotEncrypted"
        )
        degraded = next(c for c in body["status"]["conditions"] if c["type"] == "Degraded")
        for service in ("queue", "database"):
            assert (
                f"spec.{service} uses StorageClass {plain}, which does not" in degraded["message"]
            )
        assert children(namespace, "vault") == []  # never half-applied

        client.patch(
            StorageClass,
            plain,
            {"metadata": {"annotations": {"switchboard.io/encrypted-at-rest": "true"}}},
        )
        wait_for_condition(client, namespace, "vault", "Ready", timeout=60)
        database = client.get(StatefulSet, "vault-database", namespace=namespace)
        assert database.spec.volumeClaimTemplates[0].spec.storageClassName == plain
    finally:
        client.delete(StorageClass, plain)


def test_a_model_config_map_is_waited_for_then_mounted_into_the_bot(
    client: Client, namespace: str, operator: Operator
) -> None:
    model = {"name": "telco-support", "version": "2.0.0"}
    uri = "configmap://telco-support-2.0.0/model.yaml"
    apply(namespace, minimal("mod", bot={"model": {**model, "uri": uri}}))
    body = wait_for_condition(client, namespace, "mod", "Degraded", reason="ModelConfigMapNotFound")
    degraded = next(c for c in body["status"]["conditions"] if c["type"] == "Degraded")
    assert f"ConfigMap {namespace}/telco-support-2.0.0" in degraded["message"]
    assert children(namespace, "mod") == []

    models = kubectl("apply", "-k", str(REPO / "examples" / "models"), "-n", namespace)
    assert models.returncode == 0, models.stderr
    wait_for_condition(client, namespace, "mod", "Ready", timeout=60)
    bot = client.get(Deployment, "mod-bot", namespace=namespace).spec.template.spec
    volumes = {volume.name: volume for volume in bot.volumes}
    assert volumes["model"].configMap.name == "telco-support-2.0.0"


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_deletion_keeps_conversation_history_unless_the_policy_says_delete(
    client: Client, namespace: str, operator: Operator, policy: str
) -> None:
    apply(namespace, minimal("gone", database={"deletionPolicy": policy}))
    wait_for_condition(client, namespace, "gone", "Ready", timeout=60)
    claims = wait_until(
        "the database volume claim to be bound",
        lambda: [
            pvc
            for pvc in client.list(PersistentVolumeClaim, namespace=namespace)
            if pvc.status and pvc.status.phase == "Bound" and "database" in pvc.metadata.name
        ],
    )
    claim_names = {pvc.metadata.name for pvc in claims}

    client.delete(ContactCenterResource, "gone", namespace=namespace)
    wait_until(
        "the workloads to be garbage-collected",
        lambda: (
            not list(client.list(StatefulSet, namespace=namespace))
            and not list(client.list(Deployment, namespace=namespace))
        ),
        timeout=60,
    )

    def remaining() -> set[str]:
        return {
            pvc.metadata.name for pvc in client.list(PersistentVolumeClaim, namespace=namespace)
        }

    if policy == "Retain":
        time.sleep(3)  # give the garbage collector a chance to be wrong
        assert claim_names <= remaining()
        secrets = {s.metadata.name for s in client.list(Secret, namespace=namespace)}
        assert "gone-database-credentials" in secrets, "the password that opens the data is kept"
    else:
        wait_until(
            "the database volume claims to be deleted",
            lambda: not (remaining() & claim_names),
            timeout=60,
        )


def test_a_restarted_operator_makes_no_writes(
    client: Client, namespace: str, operator: Operator
) -> None:
    apply(namespace, minimal("steady"))
    wait_for_condition(client, namespace, "steady", "Ready", timeout=60)
    # Namespaces of earlier tests being emptied would count as writes too.
    wait_until(
        "earlier tests' namespaces to finish terminating",
        lambda: all(ns.status.phase != "Terminating" for ns in client.list(Namespace)),
        timeout=120,
    )
    time.sleep(2)  # let the last status patches land
    before = object_writes()
    operator.stop()
    operator.start()
    wait_until(
        "the restarted operator to have reconciled the ContactCenter",
        lambda: (
            metric_sum(
                operator.metrics(),
                "switchboard_reconcile_total",
                namespace=namespace,
                contact_center="steady",
            )
            >= 1
        ),
        timeout=30,
    )
    time.sleep(3)
    # The operator's own count covers every write it makes, Events included; the apiserver's
    # count proves it for the objects (Events there come from the controllers too).
    metrics = operator.metrics()
    own_writes = [line for line in metrics.splitlines() if line.startswith("switchboard_api_w")]
    assert metric_sum(metrics, "switchboard_api_writes_total") == 0, own_writes
    assert object_writes() == before


def object_writes() -> dict[str, int]:
    """The apiserver's write counts on the operator's kinds, Events aside."""
    return {
        request: count
        for request, count in operator_kind_writes_by_request().items()
        if not request.endswith(" events")
    }


def test_namespaces_outside_the_watched_ones_are_left_alone(
    client: Client, operator: Operator
) -> None:
    name = f"other-{uuid.uuid4().hex[:8]}"  # the session operator watches t-* only
    client.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        apply(name, minimal("ignored"))
        time.sleep(5)
        assert children(name, "ignored") == []
        # only the CRD's default: nobody reconciled it
        assert contact_center(client, name, "ignored")["status"] == {"observedGeneration": 0}
    finally:
        client.delete(Namespace, name)


def test_a_namespace_deleted_under_the_operator_is_not_an_error(
    client: Client, operator: Operator
) -> None:
    """Deleting a namespace takes its ContactCenters while they are being reconciled: their
    children then cannot be created and their status cannot be written, which is no error."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create(Namespace(metadata=ObjectMeta(name=name)))
    centers = [f"cc{index}" for index in range(4)]
    for center in centers:
        apply(name, minimal(center))
    wait_until("the first children", lambda: children(name, centers[0]) != [], timeout=30)
    client.delete(Namespace, name)
    wait_until(
        f"namespace {name} to be gone",
        lambda: name not in {ns.metadata.name for ns in client.list(Namespace)},
        timeout=120,
    )
    metrics = operator.metrics()
    assert metric_sum(metrics, "switchboard_reconcile_total", namespace=name) >= 1
    assert metric_sum(metrics, "switchboard_reconcile_errors_total", namespace=name) == 0


def test_growing_database_storage_expands_the_volume_without_breaking_the_statefulset(
    client: Client, namespace: str, operator: Operator
) -> None:
    apply(namespace, minimal("grow", database={"storage": "20Gi"}))
    wait_for_condition(client, namespace, "grow", "Ready", timeout=60)
    claim = "data-grow-database-0"
    wait_until(
        "the database claim to be bound",
        lambda: (
            client.get(PersistentVolumeClaim, claim, namespace=namespace).status.phase == "Bound"
        ),
    )

    apply(namespace, minimal("grow", database={"storage": "30Gi"}))
    wait_until(
        "the database claim to ask for 30Gi",
        lambda: (
            client.get(PersistentVolumeClaim, claim, namespace=namespace).spec.resources.requests[
                "storage"
            ]
            == "30Gi"
        ),
        timeout=15,
    )
    body = wait_for_condition(client, namespace, "grow", "Ready", timeout=30)
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]
    degraded = next(c for c in body["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "False"
    template = client.get(
        StatefulSet, "grow-database", namespace=namespace
    ).spec.volumeClaimTemplates
    assert template[0].spec.resources.requests["storage"] == "20Gi", "templates are immutable"


def test_the_database_credentials_follow_the_deletion_policy_when_it_changes(
    client: Client, namespace: str, operator: Operator
) -> None:
    apply(namespace, minimal("policy"))
    body = wait_for_condition(client, namespace, "policy", "Ready", timeout=60)
    secret = "policy-database-credentials"
    password = client.get(Secret, secret, namespace=namespace).data["password"]

    def owners() -> list[str]:
        refs = client.get(Secret, secret, namespace=namespace).metadata.ownerReferences
        return [ref.uid for ref in refs or []]

    assert owners() == [], "under Retain the credentials outlive the ContactCenter"
    apply(namespace, minimal("policy", database={"deletionPolicy": "Delete"}))
    wait_until(
        "the credentials to go with the ContactCenter",
        lambda: owners() == [body["metadata"]["uid"]],
        timeout=10,
    )
    apply(namespace, minimal("policy", database={"deletionPolicy": "Retain"}))
    wait_until(
        "the credentials to outlive the ContactCenter again", lambda: owners() == [], timeout=10
    )
    assert client.get(Secret, secret, namespace=namespace).data["password"] == password


def test_a_contact_center_made_again_under_its_old_name_gets_its_generated_tokens_anew(
    client: Client, namespace: str, operator: Operator
) -> None:
    apply(namespace, minimal("again"))
    wait_for_condition(client, namespace, "again", "Ready", timeout=60)
    first = client.get(Secret, "again-agents-token", namespace=namespace)
    kubectl("delete", "contactcenter", "again", "-n", namespace, "--wait=true")
    # Owned by the ContactCenter, the token goes with it (the garbage collector's work).
    wait_until(
        "the old token to be collected",
        lambda: (
            not [
                s
                for s in client.list(Secret, namespace=namespace)
                if s.metadata.name == "again-agents-token"
            ]
        ),
        timeout=60,
    )
    apply(namespace, minimal("again"))
    wait_for_condition(client, namespace, "again", "Ready", timeout=60)
    second = wait_until(
        "a new token",
        lambda: client.get(Secret, "again-agents-token", namespace=namespace),
        timeout=30,
    )
    assert second.metadata.uid != first.metadata.uid
