"""The kinds of children the operator applies, watches for drift and prunes.

One table for the watches, the namespace LIST, pruning and the tests. The generated Secrets
are not among them: they are created once and never watched. An optional kind belongs to an
API a cluster may not serve (the Gateway API's HTTPRoute): the operator finds out at run time
and, where it is absent, builds, lists and applies none.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.resources.common import MANAGED_BY, MANAGED_BY_LABEL


@dataclass(frozen=True)
class ChildKind:
    kind: str
    api_version: str  # "v1" for the core group, else "group/version"
    plural: str
    optional: bool = False

    @property
    def resource(self) -> tuple[str, str] | tuple[str, str, str]:
        """The kopf resource selector: (version, plural) or (group, version, plural)."""
        group, _, version = self.api_version.rpartition("/")
        return (group, version, self.plural) if group else (version, self.plural)


HTTP_ROUTE = ChildKind("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes", optional=True)
"""The bot's HTTPRoute (resources/bot_route.py), where the cluster serves the Gateway API."""
POD_MONITOR = ChildKind("PodMonitor", "monitoring.coreos.com/v1", "podmonitors", optional=True)
"""The scrape of the metrics contract (resources/pod_monitor.py), where the cluster runs the
Prometheus Operator."""
CERTIFICATE = ChildKind("Certificate", "cert-manager.io/v1", "certificates", optional=True)
"""The gateways' certificate (resources/tls.py), where the cluster runs cert-manager."""
CHILD_KINDS = (
    ChildKind("ConfigMap", "v1", "configmaps"),
    ChildKind("Service", "v1", "services"),
    ChildKind("Deployment", "apps/v1", "deployments"),
    ChildKind("StatefulSet", "apps/v1", "statefulsets"),
    ChildKind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
    ChildKind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
    ChildKind("ServiceAccount", "v1", "serviceaccounts"),
    ChildKind("CronJob", "batch/v1", "cronjobs"),
    HTTP_ROUTE,
    POD_MONITOR,
    CERTIFICATE,
)
CHILD_KIND_NAMES = frozenset(child.kind for child in CHILD_KINDS)
# Every child carries it; the watches and LISTs select on it.
MANAGED_SELECTOR = {MANAGED_BY_LABEL: MANAGED_BY}
