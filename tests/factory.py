"""The ContactCenter tests start from, as a manifest or as the model, and how to change it.

One small valid ContactCenter: unit tests change it a field at a time, the invalid manifests
break one rule each in it, and integration tests apply it.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from switchboard.api.contactcenter import ContactCenter

Manifest = dict[str, Any]

DELETE = object()
"""As a value in `changed`'s changes: remove the field."""


def valid_manifest(name: str = "valid") -> Manifest:
    """A small valid ContactCenter manifest: channels and a model, everything else defaulted."""
    return {
        "apiVersion": "switchboard.io/v1alpha1",
        "kind": "ContactCenter",
        "metadata": {"name": name},
        "spec": {
            "channels": [{"name": "web", "type": "webchat"}],
            "bot": {
                "model": {
                    "name": "intent-router",
                    "version": "3.2.0",
                    "uri": "https://models.example/intent-router/3.2.0.yaml",
                }
            },
        },
    }


def changed(changes: dict[str, Any], base: Manifest | None = None) -> Manifest:
    """The valid manifest with `changes` applied: dotted paths (list indexes as numbers) to new
    values; the value `DELETE` removes the field."""
    manifest = copy.deepcopy(base if base is not None else valid_manifest())
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = manifest
        for part in parents:
            key: Any = int(part) if part.isdigit() else part
            if isinstance(node, dict) and key not in node:
                node[key] = {}
            node = node[key]
        key = int(last) if last.isdigit() else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = copy.deepcopy(value)
    return manifest


# Where the apiserver stores the ContactCenters built here, and the uid it gives them.
NAMESPACE = "support"
UID = "uid-1"


def contact_center(changes: dict[str, Any] | None = None, **metadata: Any) -> ContactCenter:
    """The valid ContactCenter `acme` with `changes` (dotted paths, as `changed` takes them)
    and `metadata` fields replaced, as the apiserver stores it."""
    manifest = changed(changes or {}, valid_manifest("acme"))
    manifest["metadata"].update({"namespace": NAMESPACE, "uid": UID, **metadata})
    return ContactCenter.model_validate(manifest)


def example(name: str) -> ContactCenter:
    """The ContactCenter of examples/`name`.yaml, as the apiserver stores it."""
    with open(f"examples/{name}.yaml", encoding="utf-8") as stream:
        documents = [doc for doc in yaml.safe_load_all(stream) if doc]
    (manifest,) = [doc for doc in documents if doc["kind"] == "ContactCenter"]
    manifest["metadata"].update({"namespace": NAMESPACE, "uid": UID})
    return ContactCenter.model_validate(manifest)
