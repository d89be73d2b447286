"""Who gets a waiting conversation: longest idle first, within each agent's capacity per
channel type, and the agent who just let its offer expire last."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from switchboard.dataplane.agents.routing import Candidate, channel_types_with_room, rank

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def agent(id: str, idle_minutes_ago: int, capacity: dict[str, int], **holding: int) -> Candidate:
    return Candidate(id, capacity, holding, NINE - timedelta(minutes=idle_minutes_ago))


def test_the_longest_idle_agent_comes_first() -> None:
    agents = [
        agent("bob", 5, {"webchat": 2}),
        agent("ann", 20, {"webchat": 2}),
        agent("cid", 1, {"webchat": 2}),
    ]
    assert rank(agents, "webchat") == ["ann", "bob", "cid"]


def test_an_agent_with_nothing_in_hand_comes_before_a_busy_one_idle_for_longer() -> None:
    # Ann went idle long ago but has taken a chat since; Bob has had nothing for a minute.
    agents = [agent("ann", 30, {"webchat": 3}, webchat=1), agent("bob", 1, {"webchat": 3})]
    assert rank(agents, "webchat") == ["bob", "ann"]


def test_an_agent_at_capacity_for_a_type_is_skipped_for_it_but_gets_another_type() -> None:
    ann = agent("ann", 30, {"webchat": 2, "voice": 1}, webchat=2)
    bob = agent("bob", 1, {"webchat": 2, "voice": 1}, voice=1)
    assert rank([ann, bob], "webchat") == ["bob"]
    assert rank([ann, bob], "voice") == ["ann"]
    assert (ann.room("webchat"), ann.room("voice"), bob.room("voice")) == (0, 1, 0)


def test_a_type_an_agent_has_no_capacity_for_is_never_offered_to_them() -> None:
    assert rank([agent("ann", 30, {"webchat": 3})], "voice") == []


def test_holding_more_than_the_capacity_leaves_no_room_rather_than_negative_room() -> None:
    # Capacity lowered at a new sign-in while the agent still holds more.
    ann = agent("ann", 30, {"webchat": 1}, webchat=3)
    assert ann.room("webchat") == 0
    assert rank([ann], "webchat") == []


def test_the_agent_whose_offer_expired_comes_last_but_is_not_excluded() -> None:
    agents = [agent("ann", 30, {"webchat": 2}), agent("bob", 1, {"webchat": 2}, webchat=1)]
    assert rank(agents, "webchat", declined_by="ann") == ["bob", "ann"]
    # Alone with room, the agent who missed the offer is offered it again rather than the
    # customer waiting for nobody.
    assert rank(agents[:1], "webchat", declined_by="ann") == ["ann"]


def test_equally_idle_agents_are_ranked_the_same_way_every_time() -> None:
    agents = [agent("bob", 5, {"api": 1}), agent("ann", 5, {"api": 1})]
    assert rank(agents, "api") == rank(list(reversed(agents)), "api") == ["ann", "bob"]


def test_the_conversations_worth_locking_are_those_of_types_someone_has_room_for() -> None:
    agents = [
        agent("ann", 3, {"webchat": 1, "voice": 1}, webchat=1),
        agent("bob", 3, {"api": 2, "email": 0}),
    ]
    assert channel_types_with_room(agents) == {"voice", "api"}
    assert channel_types_with_room([]) == set()


candidates = st.lists(
    st.builds(
        agent,
        st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        st.integers(0, 120),
        st.fixed_dictionaries({"webchat": st.integers(0, 3), "voice": st.integers(0, 1)}),
        webchat=st.integers(0, 4),
        voice=st.integers(0, 1),
    ),
    max_size=6,
    unique_by=lambda candidate: candidate.id,
)


@given(candidates, st.sampled_from(["webchat", "voice"]), st.sampled_from([None, "a", "b"]))
def test_every_agent_with_room_is_ranked_once_and_nobody_else(
    agents: list[Candidate], channel_type: str, declined_by: str | None
) -> None:
    ranked = rank(agents, channel_type, declined_by)
    with_room = {
        a.id for a in agents if a.capacity.get(channel_type, 0) > a.holding.get(channel_type, 0)
    }
    assert sorted(ranked) == sorted(with_room)
    if declined_by in with_room and len(with_room) > 1:
        assert ranked[-1] == declined_by
