"""What the controllers decided that the spec does not say, handed to the builders as values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from switchboard.api.bot import BotModel

STABLE = "stable"
CANARY = "canary"


@dataclass(frozen=True)
class BotRoute:
    """Share of new conversations that go to one bot track (each runs one model version)."""

    track: str
    version: str
    weight: int


@dataclass(frozen=True)
class Decisions:
    """Autoscaler and rollout decisions. The defaults reproduce the spec: a new contact center."""

    replicas: Mapping[str, int] = field(default_factory=dict)
    """Replicas the autoscaler chose, by workload (`bot`, `agents`); kept within min and max."""
    stable_model: BotModel | None = None
    """The model the stable bot runs; during a rollout the previous one. None: spec.bot.model."""
    routes: tuple[BotRoute, ...] = ()
    """Bot routing weights for the gateways. Empty: all new conversations to the stable track."""
    claim_template_storage: Mapping[str, str] = field(default_factory=dict)
    """Storage in the claim template of an existing StatefulSet, by component (`queue`,
    `database`). Claim templates are immutable, so the builder keeps it; a grown spec.storage
    reaches the volume through `build_volume_expansions` instead."""
