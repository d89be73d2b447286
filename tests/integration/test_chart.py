"""The Helm chart against the local cluster: its manifests pass a server-side dry run, it
installs, upgrades and uninstalls, and its RBAC is what the operator needs and no more.

Least privilege is shown by running the real `switchboard run` process as the chart's
ServiceAccount (a TokenRequest token in a kubeconfig of its own, not the admin's) through the
quickstart, spec changes that create, patch and prune children, a missing Secret, and an
autoscaled ContactCenter scaling up on simulated traffic, with the chart's arguments (leader
election on the chart's Lease included). A recorder in front of the apiserver
notes every request the operator makes: each must be allowed (or be one of kopf's optional
probes the chart deliberately does not grant), and every permission the chart grants must have
been used (or be listed in NOT_EXERCISED with the code path that needs it). Then the same
identity tries what it must not do.

GitOps health is checked on the live objects along the way: kstatus and the Argo CD health
check (Lua) at each step of a ContactCenter's lifecycle.
"""

from __future__ import annotations

import json
import math
import os
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.batch_v1 import CronJob
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import PersistentVolumeClaim, Pod, Secret, ServiceAccount
from lightkube.resources.policy_v1 import PodDisruptionBudget
from lightkube.resources.rbac_authorization_v1 import ClusterRole, Role, RoleBinding
from lightkube.types import PatchType

from tests.gitops import argocd_health, kstatus
from tests.integration.contactcenters import (
    EXAMPLES,
    ContactCenterResource,
    apply,
    condition,
    contact_center,
    documents,
    wait_for_condition,
)
from tests.integration.identities import CA, TokenIdentity, apiserver
from tests.integration.kube import (
    KUBECONFIG,
    REPO,
    get,
    kubectl,
    restricted_namespace,
    wait_until,
)
from tests.integration.operator import Operator, install_crd, install_optional_apis
from tests.integration.request_recorder import Request, RequestRecorder
from tests.integration.test_autoscaling import (
    BOT,
    PEAK_PER_MINUTE,
    SPEED,
    WITHIN_SIM,
    autoscaled_manifest,
)

HELM = REPO / "bin" / "helm"
CHART = REPO / "charts" / "switchboard"
CRD_NAME = "contactcenters.switchboard.io"
RELEASE = "sb"
NAME = f"{RELEASE}-switchboard"  # the release's objects and its ServiceAccount
# As the least-privilege runs install the chart: with its defaults (leader election among
# two replicas), but the CRD from install_crd() (the install test installs it).
AS_RUN: dict[str, Any] = {"crds": {"install": False}}

# Granted but not exercised by the flows below, each with the code path that needs it.
NOT_EXERCISED: dict[tuple[str, str, str], str] = {
    ("switchboard.io", "contactcenters", "get"): (
        "after a failed reconcile, to tell a deleted ContactCenter from an error"
    ),
    ("storage.k8s.io", "storageclasses", "list"): (
        "a ContactCenter that requires encryption at rest (test_contactcenter.py covers it)"
    ),
    ("gateway.networking.k8s.io", "httproutes", "delete"): (
        "pruning: no spec change drops the bot's HTTPRoute; it goes with its ContactCenter"
    ),
    ("monitoring.coreos.com", "podmonitors", "delete"): (
        "pruning: no spec change drops the PodMonitor; it goes with its ContactCenter"
    ),
    ("", "configmaps", "delete"): (
        "pruning: no spec change drops a ConfigMap today, an operator upgrade that stops "
        "building one would"
    ),
}
# Requests kopf makes that the chart deliberately does not grant: given exact namespace names,
# kopf lists and watches namespaces only to match patterns, and falls back to the names.
KOPF_PROBES_WHEN_NAMESPACED = {("", "namespaces", "list"), ("", "namespaces", "watch")}

Body = dict[str, Any]


def helm(*args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    assert HELM.exists(), "bin/helm is missing: run `make binaries` (hack/build.sh)"
    return subprocess.run(
        [str(HELM), *args, *(["--values", "-"] if values is not None else [])],
        input=json.dumps(values) if values is not None else None,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
    )


def helm_release(command: str, namespace: str, values: dict[str, Any]) -> None:
    """`helm install` or `helm upgrade`, waiting for the operator's Deployment."""
    done = helm(
        command, RELEASE, str(CHART), "-n", namespace, "--wait", "--timeout=120s", values=values
    )
    assert done.returncode == 0, f"helm {command}: {done.stderr}"


def judged(body: Body) -> tuple[str, str]:
    """(kstatus, Argo CD health) of a ContactCenter."""
    return kstatus(body), argocd_health(body)["status"]


def wait_current(client: Client, namespace: str, name: str, timeout: float = 90) -> Body:
    """The ContactCenter once Ready for its latest generation."""

    def current() -> Body | None:
        body = contact_center(client, namespace, name)
        ready = condition(body, "Ready")
        observed = body.get("status", {}).get("observedGeneration")
        if ready and ready["status"] == "True" and observed == body["metadata"]["generation"]:
            return body
        return None

    return wait_until(f"{namespace}/{name} Ready at its generation", current, timeout=timeout)


# --- the chart's manifests, install, upgrade, uninstall -----------------------------------


def test_rendered_manifests_pass_a_server_side_dry_run(client: Client) -> None:
    install_crd()
    # so the flows make the optional children (HTTPRoute, PodMonitor, Certificate)
    install_optional_apis()
    with (
        restricted_namespace(client, "chart") as home,
        restricted_namespace(client, "cc") as watched,
    ):
        for values in ({}, {"watchNamespaces": [watched], "dashboards": {"enabled": True}}):
            rendered = helm("template", RELEASE, str(CHART), "-n", home, values=values)
            assert rendered.returncode == 0, rendered.stderr
            dry_run = kubectl(
                "apply",
                "--server-side",
                "--force-conflicts",
                "--dry-run=server",
                "-f",
                "-",
                stdin=rendered.stdout,
            )
            assert dry_run.returncode == 0, dry_run.stderr


def hand_crd_to_release(namespace: str) -> None:
    """A CRD applied before (`kubectl apply -f crds/`, or another test) is adopted by the
    release, as Helm documents: its ownership label and annotations."""
    if kubectl("get", "crd", CRD_NAME).returncode != 0:
        return
    labelled = kubectl("label", "--overwrite", "crd", CRD_NAME, "app.kubernetes.io/managed-by=Helm")
    annotated = kubectl(
        "annotate",
        "--overwrite",
        "crd",
        CRD_NAME,
        f"meta.helm.sh/release-name={RELEASE}",
        f"meta.helm.sh/release-namespace={namespace}",
    )
    assert labelled.returncode == 0 and annotated.returncode == 0, (
        labelled.stderr + annotated.stderr
    )


def test_the_chart_installs_upgrades_and_uninstalls(client: Client) -> None:
    with (
        restricted_namespace(client, "chart") as home,
        restricted_namespace(client, "cc") as watched,
    ):
        hand_crd_to_release(home)
        try:
            helm_release("install", home, {})
            deployment = client.get(Deployment, NAME, namespace=home)
            assert deployment.status.availableReplicas == 2
            pods = list(
                client.list(Pod, namespace=home, labels={"app.kubernetes.io/instance": RELEASE})
            )
            assert len(pods) == 2, "both replicas admitted under Pod Security restricted"
            everywhere = client.get(ClusterRole, NAME).rules
            assert any("deployments" in rule.resources for rule in everywhere)

            helm_release("upgrade", home, {"watchNamespaces": [watched]})
            args = (
                client.get(Deployment, NAME, namespace=home).spec.template.spec.containers[0].args
            )
            assert f"--namespace={watched}" in args and "--all-namespaces" not in args
            cluster_wide = client.get(ClusterRole, NAME).rules
            # Only what cannot be namespaced: the CRD, and StorageClasses (encryption at rest).
            assert [rule.resources for rule in cluster_wide] == [
                ["customresourcedefinitions"],
                ["storageclasses"],
            ]
            role = client.get(Role, NAME, namespace=watched)
            assert any("deployments" in rule.resources for rule in role.rules)
        finally:
            uninstalled = helm("uninstall", RELEASE, "-n", home, "--wait")
        assert uninstalled.returncode == 0, uninstalled.stderr
        assert kubectl("get", "crd", CRD_NAME).returncode == 0, "the CRD is kept"
        with pytest.raises(ApiError) as gone:
            client.get(ClusterRole, NAME)
        assert gone.value.status.code == 404


# --- least privilege ----------------------------------------------------------------------


def operator_arguments(client: Client, namespace: str) -> list[str]:
    """What the chart's Deployment tells `switchboard run` (what to watch, leader election),
    but its ports: the test's operator takes free ones."""
    args = client.get(Deployment, NAME, namespace=namespace).spec.template.spec.containers[0].args
    assert args[0] == "run"
    return [arg for arg in args[1:] if not arg.startswith(("--metrics-port", "--health-port"))]


def granted(client: Client, home: str, watched: str) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) the chart grants its ServiceAccount for `watched`, and for
    its Lease in `home`."""
    rules = list(client.get(ClusterRole, NAME).rules)
    rules += client.get(Role, f"{NAME}-leader-election", namespace=home).rules
    try:
        rules += client.get(Role, NAME, namespace=watched).rules
    except ApiError as error:
        assert error.status.code == 404
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.apiGroups
        for resource in rule.resources
        for verb in rule.verbs
    }


@pytest.mark.parametrize("mode", ["cluster-wide", "namespaced"])
def test_the_operator_needs_exactly_the_chart_s_rbac(
    mode: str, client: Client, prometheus: Any, simulate: Any, tmp_path: Path
) -> None:
    install_crd()
    # so the flows make the optional children (HTTPRoute, PodMonitor, Certificate)
    install_optional_apis()
    with (
        restricted_namespace(client, "chart") as home,
        restricted_namespace(client, "cc") as watched,
        restricted_namespace(client, "other") as unwatched,
    ):
        values = dict(AS_RUN)
        if mode == "namespaced":
            values["watchNamespaces"] = [watched]
        helm_release("install", home, values)
        try:
            identity = TokenIdentity(NAME, home, tmp_path)
            recorder = RequestRecorder(apiserver(), str(CA))
            recorder.start()
            operator = Operator(
                scope=operator_arguments(client, home),
                log_path=tmp_path / "operator.log",
                kubeconfig=identity.kubeconfig(recorder.url),
            )
            try:
                operator.start()
                run_the_flows(client, watched, prometheus, simulate)
                holder = client.get(Lease, NAME, namespace=home).spec.holderIdentity
                assert operator.leadership() == (holder, True), "it led on the chart's Lease"
            except AssertionError as error:
                refused = sorted({r.permission for r in recorder.requests if r.status == 403})
                raise AssertionError(f"{error}\nrefused to the operator: {refused}") from error
            finally:
                operator.stop()
                recorder.stop()
                print(f"operator log: {operator.log_path}")
            permissions = granted(client, home, watched)
            refused_to_the_operator(identity, client, watched, unwatched, mode)
        finally:
            helm("uninstall", RELEASE, "-n", home, "--wait")

    assert_exactly_what_was_used(recorder.requests, permissions, mode)


def assert_exactly_what_was_used(
    requests: list[Request], permissions: set[tuple[str, str, str]], mode: str
) -> None:
    refused = {r.permission for r in requests if r.status == 403}
    optional = KOPF_PROBES_WHEN_NAMESPACED if mode == "namespaced" else set()
    assert refused <= optional, f"the operator was refused {sorted(refused - optional)}"
    used = {r.permission for r in requests if r.status != 403}
    assert used <= permissions, f"allowed beyond the chart: {sorted(used - permissions)}"
    unused = permissions - used - set(NOT_EXERCISED)
    assert not unused, f"granted but never used: {sorted(unused)}"
    assert not set(NOT_EXERCISED) & used, "exercised now: remove it from NOT_EXERCISED"


def run_the_flows(client: Client, namespace: str, prometheus: Any, simulate: Any) -> None:
    """The quickstart and its lifecycle, a missing Secret, and autoscaling, with kstatus and
    Argo CD's health judged at each step."""
    # The quickstart, as the README applies it: its model first.
    models = kubectl("apply", "-k", str(EXAMPLES / "models"), "-n", namespace)
    assert models.returncode == 0, models.stderr
    quickstart = documents(EXAMPLES / "quickstart.yaml")[0]
    apply(namespace, quickstart)
    body = wait_current(client, namespace, "quickstart")
    assert judged(body) == ("Current", "Healthy")
    claim = "data-quickstart-database-0"
    wait_until(
        f"PersistentVolumeClaim {claim} to be bound",
        lambda: (
            client.get(PersistentVolumeClaim, claim, namespace=namespace).status.phase == "Bound"
        ),
    )

    # A spec change: one more channel, more database storage, and credentials that now go
    # with the ContactCenter. Not current until the operator has rolled it out.
    spec = quickstart["spec"]
    changed = {
        **quickstart,
        "spec": {
            **spec,
            "channels": [*spec["channels"], {"name": "phone", "type": "voice", "replicas": 2}],
            "database": {"storage": "30Gi", "deletionPolicy": "Delete"},
            "dataProtection": {"retention": {"days": 30}},
            "tls": {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
        },
    }
    apply(namespace, changed)
    assert judged(contact_center(client, namespace, "quickstart")) == ("InProgress", "Progressing")
    body = wait_current(client, namespace, "quickstart")
    assert judged(body) == ("Current", "Healthy")
    client.get(PodDisruptionBudget, "quickstart-phone", namespace=namespace)
    claimed = client.get(PersistentVolumeClaim, claim, namespace=namespace)
    assert claimed.spec.resources.requests["storage"] == "30Gi", "the volume grows with the spec"
    secret = client.get(Secret, "quickstart-database-credentials", namespace=namespace)
    assert [ref.uid for ref in secret.metadata.ownerReferences or []] == [body["metadata"]["uid"]]
    assert get("certificate", namespace, "quickstart-tls") is not None

    # The channel, the retention and TLS go and the queue becomes external: their children are
    # pruned.
    client.create(
        Secret(metadata=ObjectMeta(name="queue-uri"), stringData={"uri": "amqp://u:p@mq:5672/"}),
        namespace=namespace,
    )
    apply(
        namespace,
        {
            **quickstart,
            "spec": {
                **spec,
                "queue": {"external": {"secretRef": {"name": "queue-uri"}}},
                "database": {"storage": "30Gi", "deletionPolicy": "Delete"},
            },
        },
    )
    wait_current(client, namespace, "quickstart")
    for kind, name in (
        (Deployment, "quickstart-phone"),
        (PodDisruptionBudget, "quickstart-phone"),
        (StatefulSet, "quickstart-queue"),
        (CronJob, "quickstart-retention"),
        (ServiceAccount, "quickstart-retention"),
    ):
        with pytest.raises(ApiError) as pruned:
            client.get(kind, name, namespace=namespace)
        assert pruned.value.status.code == 404, name
    assert get("certificate", namespace, "quickstart-tls") is None

    # A Secret that is not there yet: Degraded, and nothing applied; then it comes.
    apply(
        namespace,
        {
            **quickstart,
            "metadata": {"name": "waiting"},
            "spec": {**spec, "database": {"external": {"secretRef": {"name": "db-uri"}}}},
        },
    )
    body = wait_for_condition(client, namespace, "waiting", "Degraded", reason="SecretNotFound")
    assert judged(body) == ("InProgress", "Degraded")
    client.create(
        Secret(metadata=ObjectMeta(name="db-uri"), stringData={"uri": "postgres://db/x"}),
        namespace=namespace,
    )
    assert judged(wait_current(client, namespace, "waiting")) == ("Current", "Healthy")

    # Autoscaling: the bot scales up on steady simulated traffic, and is Ready again.
    apply(namespace, autoscaled_manifest("steady", prometheus.url))
    wait_current(client, namespace, "steady")
    simulate(
        "--profile",
        "flat",
        "--peak-rate",
        str(PEAK_PER_MINUTE / 60),
        "--speed",
        str(SPEED),
        "--within",
        str(WITHIN_SIM),
        "--bot-aht",
        str(BOT.aht_sim),
        "--bot-containment",
        "1",
        "--contact-center",
        "steady",
        "--namespace",
        namespace,
    )
    wait_until(
        "the bot to scale up",
        lambda: client.get(Deployment, "steady-bot", namespace=namespace).spec.replicas > 1,
        timeout=60,
    )
    body = wait_for_condition(client, namespace, "steady", "MetricsAvailable")
    scaled = kubectl(
        "get", "events", "-n", namespace, "--field-selector", "reason=Scaled", "-o", "json"
    )
    assert json.loads(scaled.stdout)["items"], "the scaling decision is an event"
    body = wait_current(client, namespace, "steady")
    assert not math.isnan(body["status"]["sla"].get("arrivalRate", math.nan))


def refused_to_the_operator(
    identity: TokenIdentity, admin: Client, watched: str, unwatched: str, mode: str
) -> None:
    """What the operator's identity must not be able to do, tried for real."""
    operator = identity.client()

    def refused(what: str, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except ApiError as error:
            assert error.status.code == 403, f"{what}: {error.status.code} {error.status.message}"
        else:
            raise AssertionError(f"the operator's identity could {what}")

    everything = PolicyRule(apiGroups=["*"], resources=["*"], verbs=["*"])
    refused(
        "create a ClusterRole",
        lambda: operator.create(
            ClusterRole(metadata=ObjectMeta(name=f"{watched}-all"), rules=[everything])
        ),
    )
    refused(
        "bind itself to cluster-admin",
        lambda: operator.create(
            RoleBinding(
                metadata=ObjectMeta(name="escalate", namespace=watched),
                roleRef=RoleRef(
                    apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"
                ),
                subjects=[Subject(kind="ServiceAccount", name=NAME, namespace=watched)],
            )
        ),
    )
    refused(
        "write a ContactCenter's spec",
        lambda: operator.patch(
            ContactCenterResource,
            "quickstart",
            {"spec": {"bot": {"replicas": 9}}},
            namespace=watched,
            patch_type=PatchType.MERGE,
        ),
    )
    refused(
        "delete a Secret",
        lambda: operator.delete(Secret, "queue-uri", namespace=watched),
    )

    # The status subresource it may write ignores spec.
    before = contact_center(admin, watched, "quickstart")
    operator.patch(
        ContactCenterResource.Status,
        "quickstart",
        {"spec": {"bot": {"replicas": 9}}},
        namespace=watched,
        patch_type=PatchType.MERGE,
    )
    after = contact_center(admin, watched, "quickstart")
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]

    # exec is authorized before any stream is set up: a plain POST is answered 403.
    pod = next(iter(admin.list(Pod, namespace=watched))).metadata.name
    with httpx.Client(verify=ssl.create_default_context(cafile=CA)) as http:
        answer = http.post(
            f"{apiserver()}/api/v1/namespaces/{watched}/pods/{pod}/exec",
            params={"command": "sh", "stdin": "true", "stdout": "true"},
            headers={"Authorization": f"Bearer {identity.token}"},
        )
    assert answer.status_code == 403, f"exec into {pod}: {answer.status_code} {answer.text}"

    if mode == "namespaced":
        admin.create(
            Secret(metadata=ObjectMeta(name="elsewhere"), stringData={"key": "value"}),
            namespace=unwatched,
        )
        refused(
            "read a Secret in an unwatched namespace",
            lambda: operator.get(Secret, "elsewhere", namespace=unwatched),
        )
        refused(
            "list Secrets in an unwatched namespace",
            lambda: list(operator.list(Secret, namespace=unwatched)),
        )
        refused(
            "list Secrets of every namespace", lambda: list(operator.list(Secret, namespace="*"))
        )
        refused(
            "create a Deployment in an unwatched namespace",
            lambda: operator.create(
                Deployment(metadata=ObjectMeta(name="x"), spec=None), namespace=unwatched
            ),
        )
