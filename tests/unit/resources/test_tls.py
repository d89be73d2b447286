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
        secret = volumes.get(mount["name"], {}).get("secret")  # the data volume is the claim's
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


# --- internal TLS: the tiers to the built-in queue and database -------------------------------

WITH_INTERNAL = {
    "spec.tls": {
        "secretRef": {"name": "web-tls"},
        "internal": {"issuerRef": {"name": "cluster-ca", "kind": "ClusterIssuer"}},
    }
}


def mounted_config(workload: Manifest) -> dict[str, str]:
    """Absolute path of each file mounted from a ConfigMap by subPath -> the ConfigMap's name."""
    volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
    return {
        mount["mountPath"]: volumes[mount["name"]]["configMap"]["name"]
        for mount in main_container(workload)["volumeMounts"]
        if "configMap" in volumes.get(mount["name"], {})  # the data volume is the claim's
    }


def served_config(objects: list[Manifest], workload: Manifest) -> tuple[str, str]:
    """The one configuration file a built-in service is given: its path and its text."""
    [(path, name)] = mounted_config(workload).items()
    [text] = find(objects, "ConfigMap", name)["data"].values()
    return path, text


def test_internal_tls_issues_one_certificate_for_the_built_in_services_names() -> None:
    cc = contact_center(WITH_INTERNAL)
    objects = build_all(cc, Decisions(certificate=True))
    certificate = find(objects, "Certificate", "acme-internal-tls")
    assert certificate["spec"]["issuerRef"] == {
        "name": "cluster-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    # Every host the tiers' URIs name (the generated credentials' hosts) is in it.
    hosts = {
        f"{s['metadata']['name']}.support.svc"
        for s in of_kind(objects, "Service")
        if s["metadata"]["labels"][COMPONENT_LABEL] in ("queue", "database")
    }
    assert len(hosts) == 2 and hosts <= set(certificate["spec"]["dnsNames"])
    # An external database needs no name in it.
    external = contact_center(
        WITH_INTERNAL | {"spec.database": {"external": {"secretRef": {"name": "pg"}}}}
    )
    names = build_all(external, Decisions(certificate=True))
    assert not any(
        "database" in name
        for name in find(names, "Certificate", "acme-internal-tls")["spec"]["dnsNames"]
    )


def test_the_queue_serves_the_issued_certificate_on_its_tls_port_the_tiers_are_sent_to() -> None:
    objects = build_all(contact_center(WITH_INTERNAL), Decisions(certificate=True))
    queue = find(objects, "StatefulSet", "acme-queue")
    ports = {p["name"]: p["containerPort"] for p in main_container(queue)["ports"]}
    assert ports == {"amqp": 5672, "amqps": 5671}
    service = find(objects, "Service", "acme-queue")
    assert {p["name"] for p in service["spec"]["ports"]} == {"amqp", "amqps"}
    path, config = served_config(objects, queue)
    assert path.startswith("/etc/rabbitmq/conf.d/") and path.endswith(".conf")
    settings = dict(line.split(" = ") for line in config.splitlines())
    assert settings["listeners.ssl.default"] == str(ports["amqps"])
    files = mounted_files(queue)
    for setting, key in (("cacertfile", "ca.crt"), ("certfile", "tls.crt"), ("keyfile", "tls.key")):
        assert files[settings[f"ssl_options.{setting}"]] == ("acme-internal-tls", key)
    for workload in ("acme-web", "acme-bot", "acme-agents"):
        variables = env(find(objects, "Deployment", workload))
        assert variables["SWITCHBOARD_QUEUE_TLS_PORT"] == str(ports["amqps"])
        for service_name in ("QUEUE", "DATABASE"):
            assert variables[f"SWITCHBOARD_{service_name}_CA"] == {
                "secretKeyRef": {"name": "acme-internal-tls", "key": "ca.crt"}
            }


def test_the_database_serves_the_issued_certificate_and_takes_tcp_clients_over_tls_only() -> None:
    objects = build_all(contact_center(WITH_INTERNAL), Decisions(certificate=True))
    database = find(objects, "StatefulSet", "acme-database")
    args = main_container(database)["args"]
    assert args[0] == "postgres"
    settings = dict(args[index + 1].split("=", 1) for index in range(1, len(args), 2))
    assert settings["ssl"] == "on"
    files = mounted_files(database)
    assert files[settings["ssl_cert_file"]] == ("acme-internal-tls", "tls.crt")
    assert files[settings["ssl_key_file"]] == ("acme-internal-tls", "tls.key")
    path, hba = served_config(objects, database)
    assert settings["hba_file"] == path
    rules = [line.split() for line in hba.splitlines()]
    assert all(rule[0] in ("local", "hostssl") for rule in rules)  # no plain TCP
    assert ["hostssl", "all", "all", "all", "scram-sha-256"] in rules


def test_without_internal_tls_the_built_in_services_are_as_before() -> None:
    plain = build_all(contact_center(WITH_SECRET), Decisions(certificate=True))
    for name in ("acme-queue", "acme-database"):
        assert mounted_config(find(plain, "StatefulSet", name)) == {}
        assert "args" not in main_container(find(plain, "StatefulSet", name))
    assert "SWITCHBOARD_QUEUE_TLS_PORT" not in env(find(plain, "Deployment", "acme-bot"))
    assert not any(c["metadata"]["name"].endswith("-tls") for c in of_kind(plain, "ConfigMap"))
