"""The CRD against the real apiserver: bad input is rejected at `kubectl apply` with the
intended message, every example runs, and whatever the builders make for any valid spec is
accepted (Pod Security `restricted` included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from lightkube import Client, codecs

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources import build_all
from switchboard.resources.secrets import build_generated_secrets, generated_secret_names
from tests.gitops import argocd_health, kstatus
from tests.integration.contactcenters import (
    EXAMPLES,
    apply,
    contact_center,
    documents,
    wait_for_condition,
)
from tests.integration.kube import kubectl, restricted_namespace
from tests.integration.operator import Operator, install_crd
from tests.invalid_manifests import INVALID_MANIFESTS, VALID_UPDATES, InvalidManifest
from tests.strategies import contact_center_manifests


@pytest.fixture(scope="module")
def crd(kubeconfig: Path) -> None:
    install_crd()


def kubectl_apply(namespace: str, manifest: dict[str, Any]) -> Any:
    return kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest))


@pytest.mark.parametrize("case", INVALID_MANIFESTS, ids=lambda case: case.id)
def test_invalid_manifest_is_rejected_with_its_message(
    case: InvalidManifest, namespace: str, crd: None
) -> None:
    if case.old is not None:
        created = kubectl_apply(namespace, case.old)
        assert created.returncode == 0, created.stderr
    rejected = kubectl_apply(namespace, case.manifest)
    assert rejected.returncode != 0, f"{case.id} was accepted"
    assert case.message in rejected.stderr, rejected.stderr


@pytest.mark.parametrize("case", VALID_UPDATES, ids=lambda case: case[0])
def test_allowed_update_is_accepted(case: tuple[str, Any, Any], namespace: str, crd: None) -> None:
    _, old, new = case
    assert kubectl_apply(namespace, old).returncode == 0
    updated = kubectl_apply(namespace, new)
    assert updated.returncode == 0, updated.stderr


def test_a_contact_center_nobody_has_reconciled_reads_as_in_progress(
    client: Client, crd: None
) -> None:
    """The CRD defaults status to `{observedGeneration: 0}`, so GitOps tools wait for the
    operator instead of taking a new ContactCenter without status as done."""
    with restricted_namespace(client, "unwatched") as namespace:  # no operator looks here
        apply(namespace, documents(EXAMPLES / "quickstart.yaml")[0])
        body = contact_center(client, namespace, "quickstart")
        assert body["metadata"]["generation"] == 1
        assert body["status"] == {"observedGeneration": 0}
        assert kstatus(body) == "InProgress"
        assert argocd_health(body)["status"] == "Progressing"


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("*.yaml")))
def test_example_reaches_ready(
    example: str, client: Client, namespace: str, operator: Operator
) -> None:
    models = kubectl("apply", "-k", str(EXAMPLES / "models"), "-n", namespace)
    assert models.returncode == 0, models.stderr
    manifests = documents(EXAMPLES / example)
    apply(namespace, manifests)
    for manifest in manifests:
        if manifest["kind"] == "ContactCenter":
            name = manifest["metadata"]["name"]
            body = wait_for_condition(client, namespace, name, "Ready", timeout=90)
            assert body["status"]["channels"] == len(manifest["spec"]["channels"])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=contact_center_manifests(namespace="placeholder"))
def test_every_valid_spec_and_what_is_built_from_it_is_accepted_by_the_apiserver(
    data: dict[str, Any], client: Client, namespace: str, crd: None
) -> None:
    manifest = {**data, "metadata": {**data["metadata"], "namespace": namespace}}
    cc = ContactCenter.model_validate(manifest)
    passwords = dict.fromkeys(generated_secret_names(cc), "not-a-real-password")
    # What pydantic accepts, the CRD's rules accept too (the uid is the apiserver's to give).
    created = {**manifest, "metadata": {"name": cc.name, "namespace": namespace}}
    for obj in [created, *build_generated_secrets(cc, passwords), *build_all(cc)]:
        try:
            client.apply(
                codecs.from_dict(obj), field_manager="switchboard", force=True, dry_run=True
            )
        except Exception as error:
            raise AssertionError(f"{obj['kind']} {obj['metadata']['name']}: {error}") from error
