"""What the watches saw: the latest body of every ContactCenter and of every child, so that a
reconcile compares without a request (a restarted or idle operator reads and writes nothing).

Children are most of what an operator of many ContactCenters holds (18 per quickstart), so each
is kept as compact JSON without its `managedFields` (which nothing here reads, and which is half
of a parsed body), compressed, and parsed again when read: compact JSON is about 4 KB a child
instead of 22 KB as a parsed dict (measured on a fleet of 1,000), and zlib's fastest level
shrinks it (2.6 times for the quickstart's children as built) for some 30 µs a change and 10 µs
a read (json.loads takes 45 µs).
What is looked at often (its ContactCenter, component and owners) is kept beside it, as strings
shared by all the children of a ContactCenter: a dict of its labels and a set of its owners'
uids took as much memory as its compressed body.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.common import COMPONENT_LABEL, INSTANCE_LABEL, Manifest

Key = tuple[str, str]  # (namespace, name) of a ContactCenter
ChildKey = tuple[str, str, str]  # (kind, namespace, name)


def child_key(manifest: Mapping[str, Any]) -> ChildKey:
    meta = manifest["metadata"]
    return (_shared(manifest["kind"]), _shared(meta["namespace"]), meta["name"])


def _shared(text: str) -> str:
    """One copy of a string many cached children repeat (each parsed body has its own)."""
    return sys.intern(text)


def without_managed_fields(body: Mapping[str, Any]) -> Manifest:
    """A copy of `body` without its `managedFields`, which nothing here reads and which is about
    half of a parsed body (a ContactCenter is kept so too)."""
    meta = body["metadata"]
    return {**body, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


# identity: a newer body is another entry; slots: thousands are kept
@dataclass(frozen=True, eq=False, slots=True, weakref_slot=True)
class CachedChild:
    """A child as last seen: its body as compressed compact JSON, and what is read without
    parsing it."""

    body: bytes
    instance: str | None  # its instance label: the name of its ContactCenter
    component: str | None  # its component label
    owners: tuple[str, ...]  # uids of its owner references

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> CachedChild:
        meta = body["metadata"]
        labels = meta.get("labels") or {}
        instance, component = labels.get(INSTANCE_LABEL), labels.get(COMPONENT_LABEL)
        kept = without_managed_fields(body)
        return cls(
            body=zlib.compress(json.dumps(kept, separators=(",", ":"), default=str).encode(), 1),
            instance=_shared(instance) if instance else None,
            component=_shared(component) if component else None,
            owners=tuple(_shared(ref["uid"]) for ref in meta.get("ownerReferences") or ()),
        )

    def parsed(self) -> Manifest:
        parsed: Manifest = json.loads(zlib.decompress(self.body))
        return parsed


@dataclass
class Caches:
    contact_centers: dict[Key, Manifest] = field(default_factory=dict)
    children: dict[ChildKey, CachedChild] = field(default_factory=dict)
    # Children by (namespace, instance label): a reconcile looks at its own, not at all.
    by_instance: dict[Key, set[ChildKey]] = field(default_factory=dict)
    # Namespaces whose children were listed once; the watches keep them current since, so
    # a miss there means the object does not exist (no GET needed to find that out).
    listed_namespaces: set[str] = field(default_factory=set)
    # The ContactCenter whose gateways serve TLS with a Secret, by (namespace, Secret name):
    # a change of that Secret rolls them.
    tls_secrets: dict[Key, Key] = field(default_factory=dict)
    # When each ContactCenter or one of its children last changed, as a count of all changes
    # (never repeated, even for a ContactCenter created again under its name): a loop looking
    # at every ContactCenter each second sees whether any happened without reading them.
    changes: dict[Key, int] = field(default_factory=dict)
    _change_count: int = 0
    # The resourceVersion of this operator's latest status write of each ContactCenter: the
    # watch's echo of it is no news (it would only reconcile again what was just reconciled,
    # a second reconcile for most status writes amid a fleet's creation).
    status_written: dict[Key, str] = field(default_factory=dict)

    def put_contact_center(self, key: Key, body: Mapping[str, Any]) -> bool:
        """Keeps the ContactCenter's latest body; False if it is only the echo of this
        operator's own latest status write."""
        self.contact_centers[key] = without_managed_fields(body)
        self._changed(key)
        written = self.status_written.pop(key, None)
        return written is None or written != body["metadata"].get("resourceVersion")

    def remove_contact_center(self, key: Key) -> None:
        self.contact_centers.pop(key, None)
        self.changes.pop(key, None)
        self.status_written.pop(key, None)

    def _changed(self, key: Key) -> None:
        if key in self.contact_centers:
            self._change_count += 1
            self.changes[key] = self._change_count

    def put_child(self, body: Mapping[str, Any]) -> None:
        key = child_key(body)
        cached = CachedChild.of(body)
        self.children[key] = cached
        instance = cached.instance
        if instance:
            self.by_instance.setdefault((key[1], instance), set()).add(key)
            self._changed((key[1], instance))

    def remove_child(self, key: ChildKey) -> None:
        cached = self.children.pop(key, None)
        instance = cached.instance if cached else None
        if instance:
            self.by_instance.get((key[1], instance), set()).discard(key)
            self._changed((key[1], instance))

    def child(self, key: ChildKey) -> Manifest | None:
        """The child's last seen body (a fresh copy), or None if none was seen."""
        cached = self.children.get(key)
        return cached.parsed() if cached is not None else None

    def children_of(self, cc: ContactCenter) -> Iterable[Manifest]:
        for key in list(self.by_instance.get((cc.namespace, cc.name), ())):
            cached = self.children.get(key)
            if cached is not None and cc.metadata.uid in cached.owners:
                yield cached.parsed()
