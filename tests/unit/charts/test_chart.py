"""The Helm chart as `helm template` renders it: what an installer relies on (the CRD is the
generated one, the operator runs under Pod Security `restricted` with probes on its health
port, its Service and ServiceMonitor reach its metrics port, RBAC follows the watched
namespaces without wildcards) and values that are refused with a clear message.

Whether an apiserver accepts the rendered objects, whether the chart installs and upgrades, and
whether its RBAC is enough and no more for the operator is tested against the local cluster in
tests/integration/test_chart.py.
"""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from switchboard.cli import build_parser
from switchboard.controllers.command import election_timings
from switchboard.controllers.leadership import Timings
from switchboard.resources.kinds import CHILD_KINDS

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "switchboard"
HELM = REPO / "bin" / "helm"
NAMESPACE = "switchboard-system"
RELEASE = "sb"

Manifest = dict[str, Any]


def template(
    values: dict[str, Any] | None = None, release: str = RELEASE
) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail("bin/helm is missing: run `make binaries` (hack/build.sh)", pytrace=False)
    return subprocess.run(
        [str(HELM), "template", release, str(CHART), "--namespace", NAMESPACE, "--values", "-"],
        input=json.dumps(values or {}),
        capture_output=True,
        text=True,
        check=False,
    )


def render(values: dict[str, Any] | None = None, release: str = RELEASE) -> list[Manifest]:
    return copy.deepcopy(_rendered(json.dumps(values or {}, sort_keys=True), release))


@functools.cache
def _rendered(values: str, release: str) -> list[Manifest]:
    rendered = template(json.loads(values), release)
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def one(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def kinds(manifests: list[Manifest]) -> list[str]:
    return sorted(m["kind"] for m in manifests)


def container(manifests: list[Manifest]) -> Manifest:
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["operator"]
    found: Manifest = pod["containers"][0]
    return found


def run_arguments(manifests: list[Manifest]) -> Any:
    """The container's command line as `switchboard` parses it."""
    operator = container(manifests)
    assert operator["command"] == ["switchboard"]
    return build_parser().parse_args(operator["args"])


def port_named(operator: Manifest, name: str) -> int:
    ports: dict[str, int] = {port["name"]: port["containerPort"] for port in operator["ports"]}
    return ports[name]


def rules_of(manifest: Manifest) -> list[Manifest]:
    rules: list[Manifest] = manifest["rules"]
    return rules


def granted(rules: list[Manifest]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every permission the rules grant."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# --- versions and the CRD -----------------------------------------------------------------


def test_chart_and_app_version_are_the_package_version() -> None:
    package = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["version"] == package
    assert chart["appVersion"] == package


def test_the_charts_crd_is_the_generated_one() -> None:
    assert (CHART / "files" / "crd.yaml").read_bytes() == (
        REPO / "crds" / "switchboard.io_contactcenters.yaml"
    ).read_bytes(), "run `make generate`"


def test_the_rendered_crd_is_the_generated_one_kept_on_uninstall() -> None:
    generated = yaml.safe_load((REPO / "crds" / "switchboard.io_contactcenters.yaml").read_text())
    rendered = one(render(), "CustomResourceDefinition")
    assert rendered["spec"] == generated["spec"]
    assert rendered["metadata"]["name"] == generated["metadata"]["name"]
    assert rendered["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert rendered["metadata"]["labels"]["app.kubernetes.io/part-of"] == "switchboard"


def test_the_crd_can_be_left_out_or_removed_with_the_release() -> None:
    assert "CustomResourceDefinition" not in kinds(render({"crds": {"install": False}}))
    removed = one(render({"crds": {"keep": False}}), "CustomResourceDefinition")
    assert not removed["metadata"].get("annotations")


# --- the operator's Deployment ------------------------------------------------------------


def test_default_install() -> None:
    manifests = render()
    assert kinds(manifests) == sorted(
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
            "Deployment",
            "PodDisruptionBudget",
            "Role",  # the leader's Lease
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ]
    )
    assert one(manifests, "Deployment")["spec"]["replicas"] == 2
    assert container(manifests)["image"] == "ghcr.io/switchboard-io/switchboard:0.1.0"


def test_a_digest_pins_the_image() -> None:
    digest = "sha256:" + "ab" * 32
    operator = container(render({"image": {"digest": digest, "tag": "ignored"}}))
    assert operator["image"] == f"ghcr.io/switchboard-io/switchboard@{digest}"


def test_the_pod_meets_pod_security_restricted() -> None:
    deployment = one(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container([deployment])["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["readOnlyRootFilesystem"] is True
    assert not pod.get("hostNetwork") and not pod.get("hostPID")


def test_probes_ask_the_health_port_the_operator_serves() -> None:
    manifests = render({"health": {"port": 9091}})
    operator = container(manifests)
    args = run_arguments(manifests)
    assert args.health_port == 9091 == port_named(operator, "health")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert operator[probe]["httpGet"] == {"path": "/healthz", "port": "health"}, probe


def test_the_metrics_service_reaches_the_metrics_port() -> None:
    manifests = render({"metrics": {"port": 9090}})
    deployment, service = one(manifests, "Deployment"), one(manifests, "Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics"
    assert (
        run_arguments(manifests).metrics_port == 9090 == port_named(container(manifests), "metrics")
    )


@pytest.mark.parametrize(
    ("values", "watch"),
    [
        ({}, {"all_namespaces": True, "namespaces": None}),
        (
            {"watchNamespaces": ["support", "sales"]},
            {"all_namespaces": False, "namespaces": ["support", "sales"]},
        ),
    ],
)
def test_the_operator_watches_what_the_values_say(
    values: dict[str, Any], watch: dict[str, Any]
) -> None:
    args = run_arguments(render(values))
    assert {"all_namespaces": args.all_namespaces, "namespaces": args.namespaces} == watch


def test_log_level_and_leader_election_become_flags() -> None:
    default = run_arguments(render())
    assert not default.verbose and default.leader_election
    single = run_arguments(
        render({"logLevel": "debug", "replicaCount": 1, "leaderElection": {"enabled": False}})
    )
    assert single.verbose and not single.leader_election
    assert election_timings(single) is None


def test_the_leader_elects_itself_on_the_lease_the_chart_grants() -> None:
    manifests = render({"leaderElection": {"leaseDuration": "20s", "retryPeriod": "3s"}})
    args = run_arguments(manifests)
    (lease_role,) = [m for m in manifests if m["kind"] == "Role"]
    assert args.leader_election_namespace == lease_role["metadata"]["namespace"] == NAMESPACE
    named = [rule for rule in rules_of(lease_role) if "resourceNames" in rule]
    assert [rule["resourceNames"] for rule in named] == [[args.leader_election_id]]
    assert election_timings(args) == Timings(
        lease_duration=20.0, renew_deadline=10.0, retry_period=3.0
    )


def test_the_default_timings_are_client_go_s() -> None:
    assert election_timings(run_arguments(render())) == Timings(15.0, 10.0, 2.0)


def test_scheduling_values_reach_the_pod() -> None:
    toleration = {"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}
    pod = one(
        render(
            {
                "priorityClassName": "system-cluster-critical",
                "nodeSelector": {"pool": "ops"},
                "tolerations": [toleration],
                "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
            }
        ),
        "Deployment",
    )["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == {"pool": "ops"}
    assert pod["tolerations"] == [toleration]
    # Helm merges the values given into the defaults.
    assert pod["containers"][0]["resources"] == {
        "requests": {"cpu": "1", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }


def test_replicas_spread_over_nodes_unless_told_otherwise() -> None:
    manifests = render()
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    labels = pod_labels(manifests)
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items()
    budget = one(manifests, "PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    single = render({"replicaCount": 1, "leaderElection": {"enabled": False}})
    assert "PodDisruptionBudget" not in kinds(single)


def pod_labels(manifests: list[Manifest]) -> dict[str, str]:
    labels: dict[str, str] = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    return labels


def test_the_chart_s_objects_are_not_taken_for_the_operator_s_own() -> None:
    # The operator watches and prunes what is labelled managed-by=switchboard.
    for manifest in render():
        labels = manifest["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/managed-by") != "switchboard", manifest["kind"]


def test_a_release_called_switchboard_is_not_named_twice() -> None:
    deployment = one(render(release="switchboard"), "Deployment")
    assert deployment["metadata"]["name"] == "switchboard"


# --- RBAC ---------------------------------------------------------------------------------


def test_rbac_has_no_wildcards() -> None:
    for values in ({}, {"watchNamespaces": ["support"]}):
        for manifest in render(values):
            for rule in manifest.get("rules", []):
                for field in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule[field], f"{manifest['kind']}: {rule}"
                assert "nonResourceURLs" not in rule


def test_cluster_wide_the_cluster_role_is_bound_to_the_service_account() -> None:
    manifests = render()
    account = one(manifests, "ServiceAccount")["metadata"]
    binding = one(manifests, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one(manifests, "ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": NAMESPACE}
    ]
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["name"]
    assert ("apps", "deployments", "patch") in granted(rules_of(one(manifests, "ClusterRole")))


def test_watched_namespaces_get_a_role_each_and_nothing_namespaced_cluster_wide() -> None:
    manifests = render({"watchNamespaces": ["support", "sales"]})
    cluster = granted(rules_of(one(manifests, "ClusterRole")))
    assert cluster == {  # cluster-scoped kinds only
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("storage.k8s.io", "storageclasses", "list"),
    }
    everywhere = granted(rules_of(one(render(), "ClusterRole")))
    for namespace in ("support", "sales"):
        roles = [
            m for m in manifests if m["kind"] == "Role" and m["metadata"]["namespace"] == namespace
        ]
        (role,) = roles
        assert granted(rules_of(role)) == everywhere - cluster
        (binding,) = [
            m
            for m in manifests
            if m["kind"] == "RoleBinding" and m["metadata"]["namespace"] == namespace
        ]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        }


def test_the_operator_may_list_watch_apply_and_prune_every_kind_of_child() -> None:
    """What the controllers do with each kind of their table of children."""
    permissions = granted(rules_of(one(render(), "ClusterRole")))
    for child in CHILD_KINDS:
        group = child.api_version.rpartition("/")[0]
        for verb in ("list", "watch", "create", "patch", "delete"):
            assert (group, child.plural, verb) in permissions, (child.kind, verb)


def test_the_operator_may_write_status_but_not_spec() -> None:
    permissions = granted(rules_of(one(render(), "ClusterRole")))
    assert ("switchboard.io", "contactcenters/status", "patch") in permissions
    for verb in ("create", "update", "patch", "delete", "deletecollection"):
        assert ("switchboard.io", "contactcenters", verb) not in permissions


def test_the_lease_role_only_with_leader_election_and_only_in_the_release_namespace() -> None:
    (lease_role,) = [m for m in render() if m["kind"] == "Role"]
    assert lease_role["metadata"]["namespace"] == NAMESPACE
    assert {resource for _, resource, _ in granted(rules_of(lease_role))} == {"leases"}
    single = render({"replicaCount": 1, "leaderElection": {"enabled": False}})
    assert "Role" not in kinds(single)


# --- monitoring ---------------------------------------------------------------------------


def test_the_service_monitor_scrapes_the_metrics_service_as_job_switchboard() -> None:
    manifests = render(
        {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
    )
    monitor, service = one(manifests, "ServiceMonitor"), one(manifests, "Service")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    # The alerts look for job="switchboard", whatever the release is called.
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "switchboard"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["honorLabels"] is True  # the ContactCenter's namespace label stays


def test_the_prometheus_rule_is_the_tested_rule_file() -> None:
    rule = one(render({"metrics": {"prometheusRule": {"enabled": True}}}), "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((CHART / "rules" / "switchboard.rules.yaml").read_text())


def test_the_dashboard_config_map_holds_the_dashboard() -> None:
    config_map = one(render({"dashboards": {"enabled": True}}), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = (CHART / "dashboards" / "switchboard.json").read_text()
    assert json.loads(config_map["data"]["switchboard.json"]) == json.loads(dashboard)


# --- refused values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicas": 2}, "replicas"),  # a misspelt key
        ({"replicaCount": 0}, "replicaCount"),
        ({"watchNamespaces": ["Support_Team"]}, "watchNamespaces"),
        ({"watchNamespaces": ["team-*"]}, "watchNamespaces"),
        ({"logLevel": "trace"}, "logLevel"),
        ({"image": {"digest": "latest"}}, "digest"),
        ({"metrics": {"port": 70000}}, "port"),
        ({"leaderElection": {"enabled": False}}, "leaderElection.enabled"),
        ({"leaderElection": {"leaseDuration": "15"}}, "leaseDuration"),
        ({"metrics": {"port": 8081}}, "must differ"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(values: dict[str, Any], message: str) -> None:
    refused = template(values)
    assert refused.returncode != 0
    assert message in refused.stderr, refused.stderr
