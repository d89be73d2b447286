"""The generated CRD: checked in and current, structural, explained field by field, bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from lightkube.models.apiextensions_v1 import JSONSchemaProps

from switchboard.api.crd import crd_yaml, custom_resource_definition
from switchboard.api.reference import reference_markdown
from tests.unit.api.schema_nodes import nodes

REPO = Path(__file__).resolve().parents[3]
CRD_FILE = REPO / "crds" / "switchboard.io_contactcenters.yaml"
REFERENCE_FILE = REPO / "docs" / "reference.md"
REGENERATE = (
    "regenerate with `switchboard crd > crds/switchboard.io_contactcenters.yaml` and "
    "`switchboard crd --reference > docs/reference.md`"
)
# apiextensions.k8s.io/v1 JSONSchemaProps (lightkube's model of it), less what a structural
# schema forbids or what would only confuse `kubectl explain`.
FORBIDDEN = {
    "$ref",
    "$schema",
    "id",
    "title",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "uniqueItems",
    "additionalItems",
    "definitions",
    "dependencies",
    "patternProperties",
}


def _wire_name(attribute: str) -> str:
    if attribute.startswith("x_kubernetes_"):
        return attribute.replace("_", "-")
    return {"d_ref": "$ref", "d_schema": "$schema", "not_": "not"}.get(attribute, attribute)


ALLOWED = {
    _wire_name(name)
    for name in dir(JSONSchemaProps)
    if not name.startswith("_") and name not in ("from_dict", "to_dict")
} - FORBIDDEN


def _version() -> dict[str, Any]:
    version: dict[str, Any] = custom_resource_definition()["spec"]["versions"][0]
    return version


def _schema(part: str) -> dict[str, Any]:
    schema: dict[str, Any] = _version()["schema"]["openAPIV3Schema"]["properties"][part]
    return schema


def test_the_checked_in_crd_is_current() -> None:
    assert CRD_FILE.read_text(encoding="utf-8") == crd_yaml(), REGENERATE


def test_the_checked_in_reference_is_current() -> None:
    assert REFERENCE_FILE.read_text(encoding="utf-8") == reference_markdown(), REGENERATE


def test_the_yaml_is_the_manifest() -> None:
    assert yaml.safe_load(crd_yaml()) == custom_resource_definition()


def test_names_scope_and_subresources() -> None:
    crd = custom_resource_definition()
    assert crd["metadata"]["name"] == "contactcenters.switchboard.io"
    spec = crd["spec"]
    assert spec["group"] == "switchboard.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "ContactCenter"
    assert spec["names"]["plural"] == "contactcenters"
    assert spec["names"]["shortNames"] == ["cc"]
    assert spec["names"]["categories"] == ["switchboard"]
    version = _version()
    assert version["name"] == "v1alpha1"
    assert version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns == {
        "Ready": '.status.conditions[?(@.type=="Ready")].status',
        "Channels": ".status.channels",
        "Model": ".spec.bot.model.version",
        "Service level": ".status.sla.serviceLevel",
        "Age": ".metadata.creationTimestamp",
    }


def test_the_schema_is_structural() -> None:
    root = _version()["schema"]["openAPIV3Schema"]
    assert root["type"] == "object"
    for part in ("spec", "status"):
        for path, node in nodes(_schema(part), part):
            assert set(node) <= ALLOWED, f"{path}: {set(node) - ALLOWED}"
            assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path}: untyped"
            assert not ("properties" in node and "additionalProperties" in node), path
            assert node.get("additionalProperties", {}) is not False, path


def test_every_field_is_explained() -> None:
    for part in ("spec", "status"):
        for path, node in nodes(_schema(part), part):
            assert node.get("description", "").strip(), f"{path} has no description"


def test_spec_lists_and_strings_are_bounded_for_the_cel_cost_estimator() -> None:
    for path, node in nodes(_schema("spec"), "spec"):
        if node.get("type") == "array":
            assert "maxItems" in node, f"{path}: unbounded list"
        if node.get("type") == "string":
            assert "maxLength" in node or "enum" in node, f"{path}: unbounded string"


def test_conditions_are_a_list_map_in_the_metav1_shape() -> None:
    conditions = _schema("status")["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) >= {"type", "status", "reason", "lastTransitionTime"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"


def test_the_rules_are_where_the_issue_wants_them() -> None:
    spec = _schema("spec")

    def rules(node: dict[str, Any]) -> str:
        return " ".join(rule["rule"] for rule in node.get("x-kubernetes-validations", []))

    props = spec["properties"]
    assert "exists_one" in rules(props["channels"])
    autoscaling = props["bot"]["properties"]["autoscaling"]
    assert "self.minReplicas <= self.maxReplicas" in rules(autoscaling)
    assert "self.minReplicas <= self.maxReplicas" in rules(
        props["agents"]["properties"]["autoscaling"]
    )
    service_level = props["sla"]["properties"]["serviceLevel"]
    assert "self.target > 0.0 && self.target <= 1.0" in rules(service_level)
    for service in ("queue", "database"):
        assert rules(props[service]["properties"]["engine"]) == "self == oldSelf"
        assert "quantity(" in rules(props[service]) and "oldSelf.storage" in rules(props[service])
        assert "has(self.secretRef)" in rules(props[service]["properties"]["external"])
        assert "!has(self.external) ||" in rules(props[service])
