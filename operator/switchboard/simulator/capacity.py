"""Where live mode's capacity comes from: a small protocol, and the fixed implementation.

The Kubernetes implementation lives in `cluster`, at the edge, with its I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from switchboard.sizing.workloads import Workload


class CapacityUnavailable(Exception):
    """The capacity cannot be read right now; the simulator keeps the capacity it has."""


class CapacitySource(Protocol):
    async def servers(self) -> Mapping[Workload, int]:
        """Servers of each tier ready to take contacts now; raises CapacityUnavailable when
        unknown."""
        ...


@dataclass(frozen=True)
class FixedCapacity:
    """A capacity given on the command line."""

    bot: int
    agents: int

    async def servers(self) -> Mapping[Workload, int]:
        return {"bot": self.bot, "agents": self.agents}
