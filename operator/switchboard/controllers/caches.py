"""What the watches saw: the latest body of every ContactCenter and of every child, so that a
reconcile compares without a request (a restarted or idle operator reads and writes nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.common import INSTANCE_LABEL, Manifest

Key = tuple[str, str]  # (namespace, name) of a ContactCenter
ChildKey = tuple[str, str, str]  # (kind, namespace, name)


def child_key(manifest: Mapping[str, Any]) -> ChildKey:
    meta = manifest["metadata"]
    return (manifest["kind"], meta["namespace"], meta["name"])


@dataclass
class Caches:
    contact_centers: dict[Key, Manifest] = field(default_factory=dict)
    children: dict[ChildKey, Manifest] = field(default_factory=dict)
    # Children by (namespace, instance label): a reconcile looks at its own, not at all.
    by_instance: dict[Key, set[ChildKey]] = field(default_factory=dict)
    # Namespaces whose children were listed once; the watches keep them current since, so
    # a miss there means the object does not exist (no GET needed to find that out).
    listed_namespaces: set[str] = field(default_factory=set)
    # The ContactCenter whose gateways serve TLS with a Secret, by (namespace, Secret name):
    # a change of that Secret rolls them.
    tls_secrets: dict[Key, Key] = field(default_factory=dict)

    def put_child(self, body: Mapping[str, Any]) -> None:
        key = child_key(body)
        self.children[key] = dict(body)
        instance = body["metadata"].get("labels", {}).get(INSTANCE_LABEL)
        if instance:
            self.by_instance.setdefault((key[1], instance), set()).add(key)

    def remove_child(self, key: ChildKey) -> None:
        body = self.children.pop(key, None)
        instance = (body or {}).get("metadata", {}).get("labels", {}).get(INSTANCE_LABEL)
        if instance:
            self.by_instance.get((key[1], instance), set()).discard(key)

    def children_of(self, cc: ContactCenter) -> Iterable[Manifest]:
        for key in list(self.by_instance.get((cc.namespace, cc.name), ())):
            body = self.children.get(key)
            if body is not None and any(
                ref.get("uid") == cc.metadata.uid
                for ref in body["metadata"].get("ownerReferences", [])
            ):
                yield body
