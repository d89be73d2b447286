"""What the models promise: they read what kopf hands over, apply the CRD's defaults, and reject
what the apiserver rejects (so `switchboard render` does too)."""

from __future__ import annotations

import copy
from typing import Any, cast

import kopf
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from switchboard.api import ContactCenter
from switchboard.api.channels import RESERVED_CHANNEL_NAMES
from switchboard.api.crd import custom_resource_definition
from tests.factory import contact_center, valid_manifest
from tests.invalid_manifests import INVALID_MANIFESTS, InvalidManifest
from tests.strategies import contact_center_manifests

# The CEL cases are checked rule by rule in test_rules.py.
SCHEMA_CASES = [case for case in INVALID_MANIFESTS if not case.from_cel and case.old is None]


def _spec_schema() -> dict[str, Any]:
    version = custom_resource_definition()["spec"]["versions"][0]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def apply_defaults(value: Any, schema: dict[str, Any]) -> None:
    """Structural defaulting as the apiserver does it: absent fields get their default, then
    the defaulting descends (into defaulted values too)."""
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, child in properties.items():
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
        for key, child_value in value.items():
            if key in properties:
                apply_defaults(child_value, properties[key])
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(child_value, schema["additionalProperties"])
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            apply_defaults(item, schema["items"])


def _quantities_as_text(value: Any, key: str = "") -> Any:
    # Kubernetes keeps `cpu: 1` an integer; the models keep every quantity as text.
    if isinstance(value, dict):
        return {k: _quantities_as_text(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_quantities_as_text(v) for v in value]
    return str(value) if key in ("cpu", "memory") and isinstance(value, int) else value


def _assert_defaults_agree(manifest: dict[str, Any]) -> None:
    stored = copy.deepcopy(manifest["spec"])
    apply_defaults(stored, _spec_schema())
    seen_by_operator = ContactCenter.model_validate(manifest).spec.model_dump(
        mode="json", exclude_none=True
    )
    assert _quantities_as_text(stored) == seen_by_operator


@pytest.mark.parametrize("name", ["quickstart", "omnichannel", "external-services"])
def test_examples_are_valid_and_defaulted_as_the_apiserver_does(name: str) -> None:
    with open(f"examples/{name}.yaml", encoding="utf-8") as stream:
        (manifest,) = [d for d in yaml.safe_load_all(stream) if d and d["kind"] == "ContactCenter"]
    _assert_defaults_agree(manifest)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contact_center_manifests())
def test_the_operator_sees_the_defaults_the_apiserver_stores(manifest: dict[str, Any]) -> None:
    _assert_defaults_agree(manifest)


def test_the_quickstart_needs_only_channels_and_a_model() -> None:
    cc = ContactCenter.model_validate({**valid_manifest("acme"), "metadata": {"name": "acme"}})
    assert cc.namespace == "default"
    assert cc.spec.queue.engine == "RabbitMQ" and cc.spec.queue.external is None
    assert cc.spec.database.effective_version == "16"
    assert cc.spec.database.deletion_policy == "Retain"
    assert cc.spec.sla.service_level.target == 0.8
    assert cc.spec.sla.service_level.answer_within_seconds == 20
    assert cc.spec.bot.rollout.strategy == "Canary"


def test_reads_the_body_kopf_hands_over() -> None:
    body = valid_manifest("acme")
    body["metadata"].update(
        namespace="support",
        uid="0c3f",
        generation=4,
        resourceVersion="77",
        managedFields=[{"manager": "kubectl"}],
        creationTimestamp="2025-01-01T00:00:00Z",
    )
    body["status"] = {
        "observedGeneration": 3,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "AllAvailable",
                "message": "",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }
        ],
        "fieldFromANewerOperator": True,
    }
    cc = ContactCenter.model_validate(kopf.Body(cast(kopf.RawBody, body)))
    assert (cc.name, cc.namespace, cc.metadata.uid, cc.metadata.generation) == (
        "acme",
        "support",
        "0c3f",
        4,
    )
    assert cc.status.conditions[0].type == "Ready"
    assert cc.status.observed_generation == 3


def test_status_times_are_written_as_kubernetes_writes_them() -> None:
    body = valid_manifest("acme")
    body["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "Waiting",
                "lastTransitionTime": "2025-03-04T05:06:07+02:00",
            }
        ]
    }
    status = ContactCenter.model_validate(body).status.model_dump(mode="json", exclude_none=True)
    assert status["conditions"][0]["lastTransitionTime"] == "2025-03-04T03:06:07Z"
    assert "lastTransitionTime" in status["conditions"][0]  # camelCase on the wire


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=[case.id for case in SCHEMA_CASES])
def test_rejects_the_types_values_and_sizes_the_apiserver_rejects(case: InvalidManifest) -> None:
    with pytest.raises(ValidationError):
        ContactCenter.model_validate(case.manifest)


def test_reserved_channel_names_are_the_names_of_other_children() -> None:
    from switchboard.resources import build_all

    cc = contact_center()
    suffixes = {
        o["metadata"]["name"].removeprefix("acme-")
        for o in build_all(cc)
        if o["kind"] in ("Deployment", "Service", "StatefulSet", "PodDisruptionBudget")
    }
    channels = {channel.name for channel in cc.spec.channels}
    assert suffixes - channels <= set(RESERVED_CHANNEL_NAMES)
    assert "bot-canary" in RESERVED_CHANNEL_NAMES  # rollout/ names the canary so
