import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources import build_all
from switchboard.resources.wiring import WIRING_HASH_ANNOTATION, wiring_hash
from tests.factory import contact_center
from tests.unit.resources.helpers import find, of_kind

APP_WORKLOADS = ("acme-web", "acme-bot", "acme-agents")
data = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6)


@settings(max_examples=50, deadline=None)
@given(data, data)
def test_the_hash_changes_when_and_only_when_the_data_changes(
    first: dict[str, str], second: dict[str, str]
) -> None:
    assert (wiring_hash(first) == wiring_hash(second)) == (first == second)


def test_the_hash_ignores_key_order() -> None:
    assert wiring_hash({"a": "1", "b": "2"}) == wiring_hash({"b": "2", "a": "1"})


def _templates(cc: ContactCenter) -> dict[str, Any]:
    objects = build_all(cc)
    return {name: find(objects, "Deployment", name)["spec"]["template"] for name in APP_WORKLOADS}


def test_every_app_pod_carries_the_hash_of_the_wiring_it_reads() -> None:
    objects = build_all(contact_center())
    wiring = find(objects, "ConfigMap", "acme-wiring")
    for name in APP_WORKLOADS:
        deployment = find(objects, "Deployment", name)
        template = deployment["spec"]["template"]
        assert template["metadata"]["annotations"][WIRING_HASH_ANNOTATION] == wiring_hash(
            wiring["data"]
        )
        env_from = template["spec"]["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": "acme-wiring"}} in env_from


def test_a_wiring_change_rolls_the_app_pods() -> None:
    before = _templates(contact_center())
    after = _templates(contact_center({"spec.sla": {"serviceLevel": {"target": 0.9}}}))
    for name in APP_WORKLOADS:
        assert (
            before[name]["metadata"]["annotations"][WIRING_HASH_ANNOTATION]
            != after[name]["metadata"]["annotations"][WIRING_HASH_ANNOTATION]
        )


def test_a_change_outside_the_wiring_leaves_the_hash() -> None:
    before = _templates(contact_center())
    after = _templates(contact_center({"spec.agents": {"replicas": 4}}))
    for name in APP_WORKLOADS:
        assert (
            before[name]["metadata"]["annotations"][WIRING_HASH_ANNOTATION]
            == after[name]["metadata"]["annotations"][WIRING_HASH_ANNOTATION]
        )


def test_by_default_all_new_conversations_go_to_the_stable_model() -> None:
    routing = find(build_all(contact_center()), "ConfigMap", "acme-routing")
    document = json.loads(routing["data"]["routing.json"])
    assert [(r["track"], r["version"], r["weight"]) for r in document["bot"]] == [
        ("stable", "3.2.0", 100)
    ]


def test_the_wiring_holds_identity_ports_and_policy_but_no_secrets() -> None:
    objects = build_all(contact_center())
    wiring = find(objects, "ConfigMap", "acme-wiring")["data"]
    assert wiring["SWITCHBOARD_CONTACT_CENTER"] == "acme"
    assert wiring["SWITCHBOARD_NAMESPACE"] == "support"
    assert wiring["SWITCHBOARD_SLA_TARGET"] == "0.8"
    assert not any("PASSWORD" in key or "URI" in key for key in wiring)
    assert len(of_kind(objects, "ConfigMap")) == 2
