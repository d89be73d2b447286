"""The local control plane is a real Kubernetes: workloads run, admission and CEL validation
reject what they should, and the built kubectl talks to it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lightkube import ApiError, Client
from lightkube.core.dictmixin import DictMixin
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from tests.integration.kube import kubectl, wait_until

RESTRICTED_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}

Model = TypeVar("Model", bound=DictMixin)


def from_dict(model: type[Model], body: dict[str, Any]) -> Model:
    """`model.from_dict(body)`, typed as the model it makes (lightkube says its base class)."""
    made = model.from_dict(body)
    assert isinstance(made, model)
    return made


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "registry.example/web:1.0",
                            "securityContext": RESTRICTED_CONTAINER_SECURITY,
                        }
                    ],
                },
            },
        },
    }


def test_three_replica_deployment_becomes_available(client: Client, namespace: str) -> None:
    client.create(from_dict(Deployment, deployment("web", 3)), namespace=namespace)

    def available() -> bool:
        status = client.get(Deployment, "web", namespace=namespace).status
        return bool(status and status.availableReplicas == 3)

    wait_until("deployment web to have 3/3 available replicas", available, timeout=30)
    pods = list(client.list(Pod, namespace=namespace, labels={"app": "web"}))
    assert len(pods) == 3
    assert all(pod.spec and pod.spec.nodeName for pod in pods), "every pod is bound to a node"
    assert {pod.status.phase for pod in pods if pod.status} == {"Running"}


def privileged_pod() -> Pod:
    return from_dict(
        Pod,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "root"},
            "spec": {
                "containers": [
                    {
                        "name": "root",
                        "image": "registry.example/root:1.0",
                        "securityContext": {"privileged": True},
                    }
                ],
            },
        },
    )


def test_privileged_pod_is_rejected_in_restricted_namespace(client: Client, namespace: str) -> None:
    with pytest.raises(ApiError) as rejected:
        client.create(privileged_pod(), namespace=namespace)
    assert rejected.value.status.code == 403
    assert 'violates PodSecurity "restricted' in (rejected.value.status.message or "")


def test_privileged_pod_is_admitted_without_pod_security_label(client: Client) -> None:
    # The contrast: the rejection above comes from Pod Security admission, not a global switch.
    name = f"root-{uuid.uuid4().hex[:8]}"
    pod = privileged_pod()
    pod.metadata.name = name
    client.create(pod, namespace="default")
    client.delete(Pod, name, namespace="default", grace_period=0)


def test_crd_with_cel_rule_is_enforced(client: Client) -> None:
    message = "minReplicas must not exceed maxReplicas"
    group = f"t{uuid.uuid4().hex[:8]}.example.io"
    crd = from_dict(
        CustomResourceDefinition,
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "properties": {
                                            "minReplicas": {"type": "integer"},
                                            "maxReplicas": {"type": "integer"},
                                        },
                                        "x-kubernetes-validations": [
                                            {
                                                "rule": "self.minReplicas <= self.maxReplicas",
                                                "message": message,
                                            }
                                        ],
                                    }
                                },
                            }
                        },
                    }
                ],
            },
        },
    )
    client.create(crd)
    try:
        wait_until(
            "the Widget CRD to be established",
            lambda: any(
                c.type == "Established" and c.status == "True"
                for c in (
                    client.get(CustomResourceDefinition, crd.metadata.name).status.conditions or []
                )
            ),
        )

        widget = create_namespaced_resource(group, "v1", "Widget", "widgets")
        good = widget(metadata=ObjectMeta(name="good"), spec={"minReplicas": 1, "maxReplicas": 2})
        client.create(good, namespace="default")
        bad = widget(metadata=ObjectMeta(name="bad"), spec={"minReplicas": 3, "maxReplicas": 2})
        with pytest.raises(ApiError) as rejected:
            client.create(bad, namespace="default")
        assert rejected.value.status.code == 422
        assert message in (rejected.value.status.message or "")
    finally:
        client.delete(CustomResourceDefinition, crd.metadata.name)


def test_kubectl_apply_of_a_manifest(namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "config.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "greeting"},
                "data": {"hello": "world"},
            }
        )
    )
    applied = kubectl("apply", "-n", namespace, "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    assert "configmap/greeting created" in applied.stdout
    read = kubectl("get", "configmap", "greeting", "-n", namespace, "-o", "jsonpath={.data.hello}")
    assert read.stdout == "world"
