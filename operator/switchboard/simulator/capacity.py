"""Where live mode's capacity comes from: a small protocol, and the fixed implementation.

The Kubernetes implementation lives in `cluster`, at the edge, with its I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class CapacityUnavailable(Exception):
    """The capacity cannot be read right now; the simulator keeps the capacity it has."""


class CapacitySource(Protocol):
    async def servers(self) -> int:
        """Servers ready to take contacts now; raises CapacityUnavailable when unknown."""
        ...


@dataclass(frozen=True)
class FixedCapacity:
    """A capacity given on the command line."""

    count: int

    async def servers(self) -> int:
        return self.count
