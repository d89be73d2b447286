"""The agent workspace: Deployment and Service `<cc>-agents`."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import app_workload, default_image
from switchboard.resources.common import AGENTS, Manifest, ResourceDefaults, child_name

DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi"
)


def agents_name(cc: ContactCenter) -> str:
    return child_name(cc, AGENTS.name)


def build_agents(cc: ContactCenter, wiring_hash: str, *, replicas: int) -> list[Manifest]:
    """The workspace that human agents' desktops connect to."""
    spec = cc.spec.agents
    return app_workload(
        cc,
        agents_name(cc),
        AGENTS,
        image=spec.image or default_image("agents"),
        replicas=replicas,
        wiring_hash=wiring_hash,
        env=[{"name": "SWITCHBOARD_SEATS_PER_REPLICA", "value": str(spec.seats_per_replica)}],
        resources=(DEFAULT_RESOURCES, spec.resources),
    )
