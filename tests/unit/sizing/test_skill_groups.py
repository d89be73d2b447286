"""Erlang per skill group, against an Erlang C implementation that does not share our code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC

from switchboard.sizing.skill_groups import GroupDemand, size_skill_groups

CLASSIC_RATE = 100 / 1800  # 100 contacts per 30 minutes


def reference_servers(contacts_per_30_min: float, aht_seconds: float) -> int:
    reference = ErlangC(
        transactions=contacts_per_30_min, aht=aht_seconds / 60, asa=20 / 60, interval=30
    )
    servers: int = reference.required_positions(service_level=0.8)["raw_positions"]
    return servers


def test_each_group_is_sized_for_its_own_traffic_and_the_total_is_their_sum() -> None:
    staffing = size_skill_groups(
        [
            GroupDemand("billing", CLASSIC_RATE, 180),
            GroupDemand("spanish", 40 / 1800, 300),
        ],
        target=0.8,
        within_seconds=20,
    )
    assert staffing.groups["billing"].servers == 14  # the classic textbook example
    assert staffing.groups["spanish"].servers == reference_servers(40, 300)
    assert staffing.agents == 14 + reference_servers(40, 300)


def test_the_pooled_lower_bound_is_one_pool_of_all_the_traffic() -> None:
    # Two classic groups: 28 agents in dedicated pools; 200 contacts on one pool need fewer.
    staffing = size_skill_groups(
        [GroupDemand("a", CLASSIC_RATE, 180), GroupDemand("b", CLASSIC_RATE, 180)],
        target=0.8,
        within_seconds=20,
    )
    assert staffing.agents == 28
    assert staffing.pooled.servers == reference_servers(200, 180)
    assert staffing.pooled.servers < staffing.agents


def test_a_group_with_no_traffic_needs_nobody() -> None:
    staffing = size_skill_groups(
        [GroupDemand("a", CLASSIC_RATE, 180), GroupDemand("quiet", 0.0, 600)],
        target=0.8,
        within_seconds=20,
    )
    assert staffing.groups["quiet"].servers == 0
    assert staffing.agents == 14


def test_groups_must_have_distinct_names() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        size_skill_groups(
            [GroupDemand("a", 0.1, 60), GroupDemand("a", 0.1, 60)], target=0.8, within_seconds=20
        )


groups = st.lists(
    st.builds(
        GroupDemand,
        st.sampled_from(["a", "b", "c", "d"]),
        st.floats(0.0, 2.0),
        st.floats(10.0, 900.0),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda demand: demand.name,
)


@given(groups)
def test_pooling_never_needs_more_than_dedicated_groups(demands: list[GroupDemand]) -> None:
    staffing = size_skill_groups(demands, target=0.8, within_seconds=20)
    assert staffing.pooled.servers <= staffing.agents
