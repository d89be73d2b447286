"""Staffing when contacts are routed by skill group (`spec.routing` queues): Erlang per group.

Each group is sized for its own traffic with Erlang (`erlang.required_servers`), as if it had
agents of its own. The total is the sum of the groups' staffing, and an agent who has the
skills of several groups is counted once in it: they fill one seat of the total, whichever
group they serve at a given moment.

Why the sum is enough: dedicated pools meeting each group's target meet it together; agents
who can serve several groups only pool those pools, and pooling never needs more agents for the
same traffic. So the sum is an upper bound of what skill-based routing needs. The lower bound
is one pool of fully cross-skilled agents taking all the traffic (`pooled`): no routing
policy does better. The operator staffs the upper bound, the safe side: how much of the gap
shared agents recover depends on who has which skills, which the spec does not say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from switchboard.sizing.erlang import Performance, required_servers


@dataclass(frozen=True)
class GroupDemand:
    """One skill group's traffic."""

    name: str
    arrival_rate: float
    """Contacts per second."""
    aht_seconds: float


@dataclass(frozen=True)
class GroupStaffing:
    groups: Mapping[str, Performance]
    """Each group's own Erlang staffing and figures."""
    pooled: Performance
    """All the traffic on one pool of agents who have every skill: the lower bound."""

    @property
    def agents(self) -> int:
        """The staffing recommended: the sum of the groups', each agent counted once."""
        return sum(figures.servers for figures in self.groups.values())


def size_skill_groups(
    demands: Sequence[GroupDemand],
    *,
    target: float,
    within_seconds: float,
    max_occupancy: float = 1.0,
    patience_seconds: float | None = None,
    max_abandon: float | None = None,
) -> GroupStaffing:
    """Erlang per skill group, and the pooled lower bound; ValueError on invalid input and
    `InfeasibleTarget` as `required_servers` raises them."""
    if len({demand.name for demand in demands}) != len(demands):
        raise ValueError("skill groups must have distinct names")

    def size(rate: float, aht: float) -> Performance:
        return required_servers(
            rate,
            aht,
            target=target,
            within_seconds=within_seconds,
            max_occupancy=max_occupancy,
            patience_seconds=patience_seconds,
            max_abandon=max_abandon,
        )

    total_rate = sum(demand.arrival_rate for demand in demands)
    # The pool's mean handle time weighs each group's by its share of the contacts.
    pooled_aht = (
        sum(demand.arrival_rate * demand.aht_seconds for demand in demands) / total_rate
        if total_rate > 0
        else max((demand.aht_seconds for demand in demands), default=1.0)
    )
    return GroupStaffing(
        groups={demand.name: size(demand.arrival_rate, demand.aht_seconds) for demand in demands},
        pooled=size(total_rate, pooled_aht),
    )
