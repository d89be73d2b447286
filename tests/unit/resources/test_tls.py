"""TLS of the gateways: they mount the Secret and serve with it, probe over HTTPS, roll when it
changes (and nothing else does), and an issuer reference gets a cert-manager Certificate."""

from __future__ import annotations

from switchboard.resources import Decisions, build_all
from switchboard.resources.common import COMPONENT_LABEL, INSTANCE_LABEL, MANAGED_BY_LABEL
from switchboard.resources.secrets import referenced_secrets
from switchboard.resources.tls import build_certificate
from tests.factory import UID, contact_center
from tests.unit.resources.helpers import (
    Manifest,
    env,
    find,
    main_container,
    of_kind,
    pod_spec,
)

WITH_SECRET = {"spec.tls": {"secretRef": {"name": "web-tls"}}}
WITH_ISSUER = {
    "spec.tls": {
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
        "dnsNames": ["chat.example.com"],
    }
}


def gateway(objects: list[Manifest]) -> Manifest:
    return find(objects, "Deployment", "acme-web")


def mounted_files(workload: Manifest) -> dict[str, tuple[str, str]]:
    """Absolute path of each file mounted from a Secret -> (Secret, key)."""
    volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
    files = {}
    for mount in main_container(workload)["volumeMounts"]:
        secret = volumes[mount["name"]].get("secret")
        if secret is None:
            continue
        for item in secret["items"]:
            files[f"{mount['mountPath']}/{item['path']}"] = (secret["secretName"], item["key"])
    return files


def test_the_gateway_is_told_the_mounted_certificate_and_key_of_the_secret() -> None:
    deployment = gateway(build_all(contact_center(WITH_SECRET)))
    files = mounted_files(deployment)
    variables = env(deployment)
    assert files[variables["SWITCHBOARD_TLS_CERT_FILE"]] == ("web-tls", "tls.crt")
    assert files[variables["SWITCHBOARD_TLS_KEY_FILE"]] == ("web-tls", "tls.key")
    mode = next(v for v in pod_spec(deployment)["volumes"] if "secret" in v)["secret"]
    # Readable by the pod's group (the kubelet gives mounted files the fsGroup), not by others.
    assert mode["defaultMode"] & 0o007 == 0
    assert mode["defaultMode"] & 0o040
    assert pod_spec(deployment)["securityContext"]["fsGroup"] is not None


def test_without_tls_nothing_is_mounted_and_probes_use_http() -> None:
    deployment = gateway(build_all(contact_center()))
    assert mounted_files(deployment) == {}
    assert "SWITCHBOARD_TLS_CERT_FILE" not in env(deployment)
    assert main_container(deployment)["readinessProbe"]["httpGet"]["scheme"] == "HTTP"


def test_probes_switch_to_https_on_the_gateways_only() -> None:
    objects = build_all(contact_center(WITH_SECRET))
    for probe in ("readinessProbe", "livenessProbe"):
        assert main_container(gateway(objects))[probe]["httpGet"]["scheme"] == "HTTPS"
        for other in ("acme-bot", "acme-agents"):
            container = main_container(find(objects, "Deployment", other))
            assert container[probe]["httpGet"]["scheme"] == "HTTP"


def test_a_changed_secret_rolls_the_gateways_and_nothing_else() -> None:
    cc = contact_center(WITH_SECRET)
    before = build_all(cc, Decisions(tls_hash="aaaa"))
    after = build_all(cc, Decisions(tls_hash="bbbb"))
    changed = {
        o["metadata"]["name"]
        for o, p in zip(before, after, strict=True)
        if o != p and o["kind"] in ("Deployment", "StatefulSet")
    }
    assert changed == {"acme-web"}
    assert all(o == p for o, p in zip(before, after, strict=True) if o["kind"] != "Deployment")


def test_tls_changes_no_wiring_the_other_tiers_read() -> None:
    """Turning TLS on restarts the gateways only: the shared wiring ConfigMap stays as it was."""
    plain, secured = build_all(contact_center()), build_all(contact_center(WITH_SECRET))
    assert find(plain, "ConfigMap", "acme-wiring") == find(secured, "ConfigMap", "acme-wiring")
    for name in ("acme-bot", "acme-agents"):
        assert find(plain, "Deployment", name) == find(secured, "Deployment", name)


def test_the_user_s_secret_is_waited_for_with_both_keys() -> None:
    assert set(referenced_secrets(contact_center(WITH_SECRET))) >= {
        ("web-tls", "tls.crt"),
        ("web-tls", "tls.key"),
    }
    # cert-manager makes the issued one: the operator does not wait for it before applying.
    assert not any(
        name == "acme-tls" for name, _ in referenced_secrets(contact_center(WITH_ISSUER))
    )


def test_an_issuer_reference_gets_a_certificate_whose_secret_the_gateways_mount() -> None:
    cc = contact_center(WITH_ISSUER)
    objects = build_all(cc, Decisions(certificate=True))
    certificate = find(objects, "Certificate", "acme-tls")
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    spec = certificate["spec"]
    assert spec["issuerRef"] == {
        "name": "letsencrypt",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert spec["dnsNames"] == ["chat.example.com"]
    assert set(mounted_files(gateway(objects)).values()) == {
        (spec["secretName"], "tls.crt"),
        (spec["secretName"], "tls.key"),
    }
    meta = certificate["metadata"]
    assert meta["ownerReferences"][0]["uid"] == UID
    assert meta["labels"][INSTANCE_LABEL] == "acme"
    # The issued Secret carries our labels, so the operator's watch sees it renewed.
    assert spec["secretTemplate"]["labels"][MANAGED_BY_LABEL] == "switchboard"


def test_an_issued_certificate_names_the_gateway_services_unless_told_otherwise() -> None:
    cc = contact_center(
        {
            "spec.tls": {"issuerRef": {"name": "internal-ca"}},
            "spec.channels": [
                {"name": "web", "type": "webchat"},
                {"name": "partners", "type": "api"},
            ],
        }
    )
    certificate = build_certificate(cc)
    services = {
        f"{s['metadata']['name']}.{s['metadata']['namespace']}.svc"
        for s in of_kind(build_all(cc), "Service")
        if s["metadata"]["labels"][COMPONENT_LABEL] == "gateway"
    }
    assert set(certificate["spec"]["dnsNames"]) == services
    assert len(services) == 2
    assert certificate["spec"]["issuerRef"]["kind"] == "Issuer"


def test_no_certificate_where_cert_manager_is_not_served_or_not_asked_for() -> None:
    assert not of_kind(build_all(contact_center(WITH_ISSUER)), "Certificate")
    assert not of_kind(
        build_all(contact_center(WITH_SECRET), Decisions(certificate=True)), "Certificate"
    )
