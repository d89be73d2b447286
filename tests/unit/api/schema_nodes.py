"""Walking a generated schema node by node, for the tests that read the CRD."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def nodes(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """This node and every node below it, each with its path (`spec.channels[].name`)."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if "items" in node:
        yield from nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from nodes(node["additionalProperties"], f"{path}{{}}")
