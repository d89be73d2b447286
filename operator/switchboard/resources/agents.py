"""The agent workspace: Deployment and Service `<cc>-agents`."""

from __future__ import annotations

from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import duration_seconds
from switchboard.resources.app import app_workload, default_image
from switchboard.resources.common import (
    AGENTS,
    Manifest,
    ResourceDefaults,
    child_name,
    secret_key_env,
    value_env,
)
from switchboard.resources.secrets import TOKEN_KEY, agents_token_secret_name

DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi"
)


def agents_name(cc: ContactCenter) -> str:
    return child_name(cc, AGENTS.name)


def routing_env(cc: ContactCenter) -> list[dict[str, Any]]:
    """spec.routing, for the router: in the workspace's own environment, so a policy change
    rolls the workspace and nothing else (no other role reads it)."""
    if cc.spec.routing is None:
        return []
    return [value_env("SWITCHBOARD_AGENTS_ROUTING", cc.spec.routing.model_dump_json(by_alias=True))]


def survey_env(cc: ContactCenter) -> list[dict[str, Any]]:
    """spec.quality.survey when enabled: the workspace asks it on resolve (no other role reads
    it; the gateways find a pending question in the store)."""
    survey = cc.spec.quality.survey
    if not survey.enabled:
        return []
    return [value_env("SWITCHBOARD_QUALITY_SURVEY", survey.model_dump_json(by_alias=True))]


def build_agents(cc: ContactCenter, wiring_hash: str, *, replicas: int) -> list[Manifest]:
    """The workspace that human agents' desktops connect to; agents sign in with the token in
    the generated Secret `<cc>-agents-token`."""
    spec = cc.spec.agents
    return app_workload(
        cc,
        agents_name(cc),
        AGENTS,
        role="agents",
        image=spec.image or default_image(),
        replicas=replicas,
        wiring_hash=wiring_hash,
        env=[
            value_env("SWITCHBOARD_SEATS_PER_REPLICA", spec.seats_per_replica),
            value_env(
                "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS", duration_seconds(spec.offer_timeout)
            ),
            secret_key_env("SWITCHBOARD_AGENTS_TOKEN", agents_token_secret_name(cc), TOKEN_KEY),
            *routing_env(cc),
            *survey_env(cc),
        ],
        resources=(DEFAULT_RESOURCES, spec.resources),
    )
