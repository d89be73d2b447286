"""The children's cache: what is put is what is read back, less what nothing reads."""

from __future__ import annotations

import copy

from switchboard.controllers.caches import Caches, child_key
from switchboard.resources import build_all
from tests.factory import contact_center
from tests.unit.resources.helpers import Manifest, find

MANAGED_FIELDS = [{"manager": "switchboard", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]


def _as_stored(manifest: Manifest, uid: str, version: str = "1") -> Manifest:
    """A built child as the apiserver returns it: owned, versioned, with managed fields."""
    stored = copy.deepcopy(manifest)
    stored["metadata"] |= {
        "uid": f"child-of-{uid}",
        "resourceVersion": version,
        "managedFields": MANAGED_FIELDS,
    }
    stored["metadata"]["ownerReferences"][0]["uid"] = uid
    stored["status"] = {"readyReplicas": 1}
    return stored


def test_a_child_reads_back_as_stored_without_its_managed_fields() -> None:
    cc = contact_center()
    caches = Caches()
    stored = _as_stored(find(build_all(cc), "Deployment", "acme-bot"), cc.metadata.uid or "")
    caches.put_child(stored)
    read = caches.child(child_key(stored))
    expected = copy.deepcopy(stored)
    del expected["metadata"]["managedFields"]
    assert read == expected
    assert read is not None
    read["spec"]["replicas"] = 99  # a reader's change is its own
    assert caches.child(child_key(stored)) == expected


def test_children_of_a_contact_center_are_those_it_owns_under_its_instance_label() -> None:
    cc = contact_center()
    caches = Caches()
    built = build_all(cc)
    for manifest in built:
        caches.put_child(_as_stored(manifest, cc.metadata.uid or ""))
    # Same name and labels, another owner: a ContactCenter deleted and created again.
    orphan = _as_stored(find(built, "Service", "acme-bot"), "an-earlier-uid")
    orphan["metadata"]["name"] = "acme-bot-old"
    caches.put_child(orphan)
    owned = {child_key(body) for body in caches.children_of(cc)}
    assert owned == {child_key(manifest) for manifest in built}
    caches.remove_child(child_key(find(built, "Deployment", "acme-bot")))
    assert ("Deployment", cc.namespace, "acme-bot") not in {
        child_key(body) for body in caches.children_of(cc)
    }
    assert caches.child(("Deployment", cc.namespace, "acme-bot")) is None


def test_a_newer_body_replaces_the_older() -> None:
    cc = contact_center()
    caches = Caches()
    deployment = find(build_all(cc), "Deployment", "acme-bot")
    caches.put_child(_as_stored(deployment, cc.metadata.uid or "", version="1"))
    newer = _as_stored(deployment, cc.metadata.uid or "", version="2")
    newer["spec"]["replicas"] = 7
    caches.put_child(newer)
    read = caches.child(child_key(newer)) or {}
    assert read["metadata"]["resourceVersion"] == "2"
    assert read["spec"]["replicas"] == 7


def test_a_change_of_a_contact_center_or_its_children_is_counted_for_it_alone() -> None:
    cc = contact_center()
    other = contact_center(name="globex")
    caches = Caches()
    key, other_key = (cc.namespace, cc.name), (other.namespace, other.name)
    for each in (cc, other):
        caches.put_contact_center((each.namespace, each.name), each.model_dump(by_alias=True))
    seen = caches.changes[key], caches.changes[other_key]

    deployment = _as_stored(find(build_all(cc), "Deployment", "acme-bot"), cc.metadata.uid or "")
    caches.put_child(deployment)
    after_put = caches.changes[key]
    assert after_put != seen[0]
    caches.remove_child(child_key(deployment))
    assert caches.changes[key] not in (seen[0], after_put)
    assert caches.changes[other_key] == seen[1]

    # Deleted and created again under its name: a count it never had, whatever was kept.
    counts_before = set(caches.changes.values())
    caches.remove_contact_center(key)
    assert key not in caches.changes
    caches.put_child(deployment)  # a child event after the deletion counts for nothing
    assert key not in caches.changes
    caches.put_contact_center(key, cc.model_dump(by_alias=True))
    assert caches.changes[key] not in counts_before


def test_only_the_echo_of_the_operators_own_status_write_is_no_news() -> None:
    caches = Caches()
    key = ("team-a", "acme")
    body = contact_center().model_dump(by_alias=True)

    def version(resource_version: str) -> Manifest:
        return {**body, "metadata": {**body["metadata"], "resourceVersion": resource_version}}

    assert caches.put_contact_center(key, version("10"))
    caches.status_written[key] = "11"
    assert not caches.put_contact_center(key, version("11"))
    assert caches.contact_centers[key]["metadata"]["resourceVersion"] == "11"
    assert caches.put_contact_center(key, version("12"))  # someone else's change

    # Another change landed before the echo: it is news, and the echo after it reconciles as
    # every change did before (only an echo seen first is passed over: nothing is missed).
    caches.status_written[key] = "14"
    assert caches.put_contact_center(key, version("13"))
    assert caches.put_contact_center(key, version("14"))
