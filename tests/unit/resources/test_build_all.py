"""What every object build_all makes promises, for any valid ContactCenter."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources import build_all, build_generated_secrets, generated_secret_names
from tests.factory import contact_center, example
from tests.strategies import contact_centers
from tests.unit.resources.helpers import WORKLOAD_KINDS, Manifest, matches, pod_labels, pod_spec

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# A Secret's name is a DNS subdomain of up to 253 characters: it is never a label value or a
# host name (`<cc>-<channel>-token` may pass 63). Every other name here stays a DNS label.
SUBDOMAIN_NAMED = {"Secret": 253}
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
}
fuzz = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _everything(cc: ContactCenter) -> list[Manifest]:
    passwords = {component: "not-a-real-password" for component in generated_secret_names(cc)}
    return build_all(cc) + build_generated_secrets(cc, passwords)


def assert_promises(cc: ContactCenter) -> None:
    objects = _everything(cc)
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), "two objects of one kind share a name"
    workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
    for o in objects:
        _assert_metadata(cc, o)
    for workload in workloads:
        _assert_workload(workload)
    for svc in (o for o in objects if o["kind"] == "Service"):
        _assert_service(svc, workloads)


def _assert_metadata(cc: ContactCenter, o: Manifest) -> None:
    meta = o["metadata"]
    where = f"{o['kind']} {meta['name']}"
    assert len(meta["name"]) <= SUBDOMAIN_NAMED.get(o["kind"], 63), where
    assert DNS_LABEL.match(meta["name"]), where
    assert meta["namespace"] == cc.namespace, where
    assert set(meta["labels"]) >= STANDARD_LABELS, where
    assert meta["labels"]["app.kubernetes.io/instance"] == cc.name
    assert meta["labels"]["app.kubernetes.io/part-of"] == "switchboard"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "switchboard"
    for key, value in meta["labels"].items():
        assert LABEL_KEY.match(key) and len(value) <= 63 and LABEL_VALUE.match(value), (where, key)
    retained = (
        o["kind"] == "Secret"
        and cc.spec.database.deletion_policy == "Retain"
        and (meta["name"].endswith("-database-credentials"))
    )
    if not retained:
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "switchboard.io/v1alpha1",
                "kind": "ContactCenter",
                "name": cc.name,
                "uid": cc.metadata.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ], where


def _assert_workload(workload: Manifest) -> None:
    where = f"{workload['kind']} {workload['metadata']['name']}"
    assert matches(workload["spec"]["selector"]["matchLabels"], pod_labels(workload)), where
    for value in pod_labels(workload).values():
        assert len(value) <= 63 and LABEL_VALUE.match(value), where
    pod = pod_spec(workload)
    _assert_restricted(pod, where)
    volumes = {v["name"] for v in pod["volumes"]} | {
        c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])
    }
    for container in pod["containers"]:
        ports = {p["name"] for p in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            handler = container[probe].get("httpGet") or container[probe].get("tcpSocket")
            assert handler["port"] in ports, f"{where}: {probe} on a port the container lacks"
        assert {m["name"] for m in container["volumeMounts"]} <= volumes, where
        for resource in ("cpu", "memory"):
            assert resource in container["resources"]["requests"], where
            assert resource in container["resources"]["limits"], where


def _assert_restricted(pod: dict[str, Any], where: str) -> None:
    """Pod Security `restricted`, and no service account token."""
    assert pod["automountServiceAccountToken"] is False, where
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, where
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
    assert "hostNetwork" not in pod and "hostPID" not in pod, where
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["capabilities"] == {"drop": ["ALL"]}, where
        assert security["readOnlyRootFilesystem"] is True, where
        assert security.get("runAsUser", 1) != 0, where
    for volume in pod["volumes"]:
        assert set(volume) & {"emptyDir", "configMap", "secret", "persistentVolumeClaim"}, where


def _assert_service(svc: Manifest, workloads: list[Manifest]) -> None:
    where = f"Service {svc['metadata']['name']}"
    selected = [w for w in workloads if matches(svc["spec"]["selector"], pod_labels(w))]
    assert [w["metadata"]["name"] for w in selected] == [svc["metadata"]["name"]], where
    (workload,) = selected
    ports = {
        p["name"]: p["containerPort"] for c in pod_spec(workload)["containers"] for p in c["ports"]
    }
    for port in svc["spec"]["ports"]:
        assert port["targetPort"] in ports, f"{where}: targetPort {port['targetPort']}"
        assert port["port"] == ports[port["targetPort"]], where


@fuzz
@given(contact_centers())
def test_any_valid_contact_center_builds_objects_that_keep_the_promises(cc: ContactCenter) -> None:
    assert_promises(cc)


def test_the_longest_names_keep_the_promises() -> None:
    """A 40-character ContactCenter with a 20-character token channel and every optional child
    (the name limits' corner, where a token Secret's name passes 63)."""
    longest = contact_center(
        {
            "spec.channels": [{"name": "p" * 20, "type": "api"}],
            "spec.tls": {"issuerRef": {"name": "ca"}, "internal": {"issuerRef": {"name": "ca"}}},
            "spec.dataProtection": {"retention": {"days": 30}},
        },
        name="c" * 40,
    )
    assert_promises(longest)
    assert max(len(o["metadata"]["name"]) for o in _everything(longest)) > 63


def test_the_examples_keep_the_promises() -> None:
    for name in ("quickstart", "omnichannel", "external-services"):
        assert_promises(example(name))


@fuzz
@given(contact_centers())
def test_building_is_pure(cc: ContactCenter) -> None:
    assert build_all(cc) == build_all(cc.model_copy(deep=True))
