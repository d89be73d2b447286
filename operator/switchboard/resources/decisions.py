"""What the controllers decided that the spec does not say, handed to the builders as values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decisions:
    """The controllers' decisions. The defaults reproduce the spec: a new contact center."""

    replicas: Mapping[str, int] = field(default_factory=dict)
    """Replicas the autoscaler chose, by workload (`bot`, `agents`); kept within min and max."""
    claim_template_storage: Mapping[str, str] = field(default_factory=dict)
    """Storage in the claim template of an existing StatefulSet, by component (`queue`,
    `database`). Claim templates are immutable, so the builder keeps it; a grown spec.storage
    reaches the volume through `build_volume_expansions` instead."""
