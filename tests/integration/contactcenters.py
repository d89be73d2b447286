"""Applying ContactCenters and reading them back, for the integration tests and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource

from switchboard import GROUP, PLURAL, VERSION
from tests.integration.kube import REPO, kubectl, wait_until

ContactCenterResource = create_namespaced_resource(GROUP, VERSION, "ContactCenter", PLURAL)
EXAMPLES = REPO / "examples"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def apply(namespace: str, manifest: str | dict[str, Any] | list[dict[str, Any]]) -> None:
    text = (
        manifest
        if isinstance(manifest, str)
        else yaml.safe_dump_all(manifest if isinstance(manifest, list) else [manifest])
    )
    applied = kubectl("apply", "-n", namespace, "-f", "-", stdin=text)
    assert applied.returncode == 0, applied.stderr


def contact_center(client: Client, namespace: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(ContactCenterResource, name, namespace=namespace).to_dict()
    return body


def condition(body: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for item in body.get("status", {}).get("conditions", []):
        if item["type"] == type_:
            found: dict[str, Any] = item
            return found
    return None


def wait_for_condition(
    client: Client,
    namespace: str,
    name: str,
    type_: str,
    status: str = "True",
    reason: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body = contact_center(client, namespace, name)
        if body["status"].get("observedGeneration") != body["metadata"]["generation"]:
            return None  # conditions about an older spec say nothing of this one
        found = condition(body, type_)
        if found and found["status"] == status and (reason is None or found["reason"] == reason):
            return body
        return None

    wanted = f"{type_}={status}" + (f" ({reason})" if reason else "") + " for its spec"
    return wait_until(f"ContactCenter {namespace}/{name} to be {wanted}", reached, timeout=timeout)
