"""Live mode's capacity from the cluster: the ready replicas of a ContactCenter's bot and agents.

Bot servers = bot ready replicas x bot concurrency; agent servers = agent ready replicas x seats
per replica. Ready replicas are summed over every Deployment labelled
`app.kubernetes.io/instance=<name>` and `app.kubernetes.io/component=bot|agents` (during a canary
both bot Deployments count). The
concurrency and seats come from the ContactCenter itself, read at every poll. The only module of
the simulator that talks to Kubernetes (lightkube, kubeconfig from KUBECONFIG or in-cluster).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx2  # lightkube's HTTP client; its transport errors surface as they are
from lightkube import ApiError, AsyncClient, ConfigError, KubeConfig, operators
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment
from pydantic import ValidationError

from switchboard import GROUP, PLURAL, VERSION
from switchboard.api.contactcenter import ContactCenterSpec
from switchboard.simulator.capacity import CapacityUnavailable
from switchboard.sizing.workloads import Workload

ContactCenterResource = create_namespaced_resource(GROUP, VERSION, "ContactCenter", PLURAL)


class ClusterCapacity:
    """Reads a ContactCenter's ready serving capacity from the Kubernetes API."""

    def __init__(self, name: str, namespace: str, client: AsyncClient) -> None:
        self.name = name
        self.namespace = namespace
        self._client = client

    @classmethod
    def from_environment(cls, name: str, namespace: str) -> ClusterCapacity:
        try:
            config = KubeConfig.from_env()
        except ConfigError as error:
            raise CapacityUnavailable(f"no Kubernetes configuration: {error}") from None
        return cls(name, namespace, AsyncClient(config=config, timeout=httpx2.Timeout(10.0)))

    async def servers(self) -> Mapping[Workload, int]:
        try:
            contact_center = await self._client.get(
                ContactCenterResource, self.name, namespace=self.namespace
            )
            ready = {"bot": 0, "agents": 0}
            async for deployment in self._client.list(
                Deployment,
                namespace=self.namespace,
                labels={
                    "app.kubernetes.io/instance": self.name,
                    "app.kubernetes.io/component": operators.in_(list(ready)),
                },
            ):
                labels = (deployment.metadata.labels if deployment.metadata else None) or {}
                component = labels["app.kubernetes.io/component"]
                ready[component] += (
                    (deployment.status.readyReplicas or 0) if deployment.status else 0
                )
        except ApiError as error:
            raise CapacityUnavailable(
                f"ContactCenter {self.namespace}/{self.name}: {error.status.message}"
            ) from None
        except (httpx2.HTTPError, OSError) as error:  # refused, timed out, TLS
            raise CapacityUnavailable(f"Kubernetes API unreachable: {error}") from None
        try:
            spec = ContactCenterSpec.model_validate(contact_center.get("spec") or {})
        except ValidationError as error:
            raise CapacityUnavailable(
                f"ContactCenter {self.namespace}/{self.name} is not valid: "
                f"{error.errors()[0]['msg']}"
            ) from None
        return {
            "bot": ready["bot"] * spec.bot.concurrency,
            "agents": ready["agents"] * spec.agents.seats_per_replica,
        }
