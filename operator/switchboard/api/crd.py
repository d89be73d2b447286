"""The ContactCenter CustomResourceDefinition, generated from the pydantic models.

pydantic writes JSON Schema (draft 2020-12); apiextensions.k8s.io/v1 wants a *structural*
OpenAPI v3 schema: every node typed, no `$ref`, no `title`, `anyOf` only in the int-or-string
form, boolean `exclusiveMinimum`. `openapi_schema` translates one into the other and refuses any
keyword it does not know, so a new kind of field fails here rather than at `kubectl apply`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from pydantic import BaseModel

from switchboard import GROUP, PLURAL, VERSION
from switchboard.api.contactcenter import ContactCenter, ContactCenterSpec
from switchboard.api.status import ContactCenterStatus

KIND = "ContactCenter"
SINGULAR = "contactcenter"
SHORT_NAMES = ["cc"]
CATEGORIES = ["switchboard"]
CRD_NAME = f"{PLURAL}.{GROUP}"

Schema = dict[str, Any]

# The keywords a node of the CRD may hold, in the order they are written: what a node is first,
# its children and rules last.
_ORDER = [
    "type",
    "x-kubernetes-int-or-string",
    "description",
    "format",
    "enum",
    "default",
    "nullable",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    "required",
    "properties",
    "items",
    "additionalProperties",
    "x-kubernetes-validations",
]
# Those built by `_structural` (children, exclusive bounds); every other one passes unchanged.
_BUILT = {"properties", "items", "additionalProperties", "exclusiveMinimum", "exclusiveMaximum"}
_KEPT = set(_ORDER) - _BUILT
# JSON Schema keywords that carry no meaning for the apiserver.
_DROPPED = {"title", "$defs"}


class SchemaError(ValueError):
    """A model produced JSON Schema that has no structural OpenAPI v3 equivalent."""


def openapi_schema(model: type[BaseModel]) -> Schema:
    """The structural OpenAPI v3 schema of a pydantic model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _structural(raw, raw.get("$defs", {}), path=model.__name__)


def _structural(node: Schema, defs: dict[str, Schema], path: str) -> Schema:
    node = _resolve(node, defs, path)
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":
            out[key] = {
                name: _structural(sub, defs, f"{path}.{name}") for name, sub in value.items()
            }
        elif key == "items":
            out[key] = _structural(value, defs, f"{path}[]")
        elif key == "additionalProperties":
            if isinstance(value, dict):
                out[key] = _structural(value, defs, f"{path}{{}}")
            # `false` (extra="forbid") is pydantic's business: the apiserver prunes instead.
        elif key == "exclusiveMinimum":
            out["minimum"], out["exclusiveMinimum"] = value, True
        elif key == "exclusiveMaximum":
            out["maximum"], out["exclusiveMaximum"] = value, True
        elif key == "const":
            out["enum"] = [value]
        elif key == "maxItems" and node.get("type") == "object":
            out["maxProperties"] = value
        elif key == "default":
            if value is not None:
                out[key] = copy.deepcopy(value)
        elif key in _KEPT:
            out[key] = copy.deepcopy(value)
        else:
            raise SchemaError(f"{path}: JSON Schema keyword {key!r} has no CRD equivalent")
    if "type" not in out and not out.get("x-kubernetes-int-or-string"):
        raise SchemaError(f"{path}: no type")
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return {key: out[key] for key in sorted(out, key=_ORDER.index)}


def _resolve(node: Schema, defs: dict[str, Schema], path: str) -> Schema:
    """Inline `$ref` and unwrap `Optional` (anyOf with null); siblings override the target."""
    node = dict(node)
    if "anyOf" in node:
        options = [option for option in node.pop("anyOf") if option != {"type": "null"}]
        if len(options) != 1:
            raise SchemaError(f"{path}: a union of {len(options)} types is not structural")
        node = {**options[0], **node}
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        rules = target.get("x-kubernetes-validations", []) + node.pop(
            "x-kubernetes-validations", []
        )
        node = {**target, **node}
        if rules:
            node["x-kubernetes-validations"] = rules
        return _resolve(node, defs, path)
    return node


def _root_schema() -> Schema:
    return {
        "type": "object",
        "description": (
            "A contact center: channel gateways, a bot, an agent workspace, a queue and a "
            "database, wired together, protected, and sized to a service-level objective."
        ),
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "Versioned schema of this object: switchboard.io/v1alpha1.",
            },
            "kind": {"type": "string", "description": "ContactCenter."},
            "metadata": {"type": "object"},
            "spec": openapi_schema(ContactCenterSpec),
            "status": status_schema(),
        },
        "x-kubernetes-validations": [rule.cel for rule in ContactCenter.RULES],
    }


def status_schema() -> dict[str, Any]:
    """The status's schema, defaulted to `{observedGeneration: 0}`: a ContactCenter the
    operator has not seen yet reads as not reconciled (kstatus: InProgress, so Flux and kpt
    wait) rather than as a custom resource without status (which kstatus takes as Current)."""
    schema = openapi_schema(ContactCenterStatus)
    schema["properties"]["observedGeneration"]["default"] = 0
    return {**schema, "default": {}}


PRINTER_COLUMNS = [
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "description": "Whether every component is available.",
    },
    {
        "name": "Channels",
        "type": "integer",
        "jsonPath": ".status.channels",
        "description": "Number of channel gateways.",
    },
    {
        "name": "Model",
        "type": "string",
        "jsonPath": ".spec.bot.model.version",
        "description": "Desired dialogue model version.",
    },
    {
        "name": "Service level",
        "type": "number",
        "jsonPath": ".status.sla.serviceLevel",
        "description": "Observed share of contacts answered within the objective's threshold.",
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def custom_resource_definition() -> dict[str, Any]:
    """The ContactCenter CRD as a plain manifest."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            "labels": {"app.kubernetes.io/part-of": "switchboard"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": SHORT_NAMES,
                "categories": CATEGORIES,
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": _root_schema()},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                }
            ],
        },
    }


def editor_json_schema() -> Schema:
    """A ContactCenter manifest as JSON Schema (draft-07), for editors (yaml-language-server)
    and manifest linters: the CRD's schema without `status`, with OpenAPI's int-or-string and
    boolean exclusive bounds spelled the JSON Schema way, and unknown fields flagged, as
    `kubectl apply` (strict field validation) rejects them."""
    root = _root_schema()
    properties = {name: root["properties"][name] for name in ("metadata", "spec")}
    root["properties"] = {
        "apiVersion": {"type": "string", "enum": [f"{GROUP}/{VERSION}"]},
        "kind": {"type": "string", "enum": [KIND]},
        **properties,
    }
    root["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": KIND} | _json_schema(
        root
    )


def _json_schema(node: Schema) -> Schema:
    out: Schema = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _json_schema(value)
        elif key in ("minimum", "maximum") and node.get(f"exclusive{key.title()}"):
            out[f"exclusive{key.title()}"] = value
        elif key not in ("exclusiveMinimum", "exclusiveMaximum") and not key.startswith("x-"):
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if out.pop("nullable", False):
        out["type"] = [*([out["type"]] if isinstance(out["type"], str) else out["type"]), "null"]
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def editor_json_schema_text() -> str:
    """The editors' JSON Schema as checked in under schemas/."""
    return json.dumps(editor_json_schema(), indent=2) + "\n"


def crd_yaml() -> str:
    """The CRD as the YAML checked in under crds/."""
    header = "# Generated by `switchboard crd` from switchboard.api; do not edit.\n"
    return header + yaml.safe_dump(
        custom_resource_definition(), sort_keys=False, width=100, allow_unicode=True
    )
