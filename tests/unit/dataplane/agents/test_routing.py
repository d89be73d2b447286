"""Who gets which waiting conversation: the queue a contact joins, the agents that qualify for
it and in which order (strategies, overflow), and which conversation comes first (priority
with ageing); within each agent's capacity per channel type, the agent who just let its offer
expire last."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.api.routing import Routing
from switchboard.dataplane.agents.routing import (
    Candidate,
    Policy,
    Waiting,
    channel_types_with_room,
    in_order,
    rank,
)

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNROUTED = Policy.from_spec(None)


def agent(
    id: str,
    idle_minutes_ago: int,
    capacity: dict[str, int],
    skills: dict[str, int] | None = None,
    offered_minutes_ago: int | None = None,
    **holding: int,
) -> Candidate:
    return Candidate(
        id,
        capacity,
        holding,
        NINE - timedelta(minutes=idle_minutes_ago),
        skills or {},
        None if offered_minutes_ago is None else NINE - timedelta(minutes=offered_minutes_ago),
    )


def chat(
    id: str = "c1",
    waited: float = 0.0,
    channel_type: str = "webchat",
    declined_by: str | None = None,
    **attributes: str,
) -> Waiting:
    return Waiting(id, channel_type, attributes, waited, declined_by)


def policy(**routing: object) -> Policy:
    return Policy.from_spec(Routing.model_validate(routing))


# --- without spec.routing: any agent, longest idle first --------------------------------------


def test_the_longest_idle_agent_comes_first() -> None:
    agents = [
        agent("bob", 5, {"webchat": 2}),
        agent("ann", 20, {"webchat": 2}),
        agent("cid", 1, {"webchat": 2}),
    ]
    assert rank(UNROUTED, chat(), agents) == ["ann", "bob", "cid"]


def test_an_agent_with_nothing_in_hand_comes_before_a_busy_one_idle_for_longer() -> None:
    # Ann went idle long ago but has taken a chat since; Bob has had nothing for a minute.
    agents = [agent("ann", 30, {"webchat": 3}, webchat=1), agent("bob", 1, {"webchat": 3})]
    assert rank(UNROUTED, chat(), agents) == ["bob", "ann"]


def test_an_agent_at_capacity_for_a_type_is_skipped_for_it_but_gets_another_type() -> None:
    ann = agent("ann", 30, {"webchat": 2, "voice": 1}, webchat=2)
    bob = agent("bob", 1, {"webchat": 2, "voice": 1}, voice=1)
    assert rank(UNROUTED, chat(), [ann, bob]) == ["bob"]
    assert rank(UNROUTED, chat(channel_type="voice"), [ann, bob]) == ["ann"]
    assert (ann.room("webchat"), ann.room("voice"), bob.room("voice")) == (0, 1, 0)


def test_a_type_an_agent_has_no_capacity_for_is_never_offered_to_them() -> None:
    assert rank(UNROUTED, chat(channel_type="voice"), [agent("ann", 30, {"webchat": 3})]) == []


def test_holding_more_than_the_capacity_leaves_no_room_rather_than_negative_room() -> None:
    # Capacity lowered at a new sign-in while the agent still holds more.
    ann = agent("ann", 30, {"webchat": 1}, webchat=3)
    assert ann.room("webchat") == 0
    assert rank(UNROUTED, chat(), [ann]) == []


def test_the_agent_whose_offer_expired_comes_last_but_is_not_excluded() -> None:
    agents = [agent("ann", 30, {"webchat": 2}), agent("bob", 1, {"webchat": 2}, webchat=1)]
    assert rank(UNROUTED, chat(declined_by="ann"), agents) == ["bob", "ann"]
    # Alone with room, the agent who missed the offer is offered it again rather than the
    # customer waiting for nobody.
    assert rank(UNROUTED, chat(declined_by="ann"), agents[:1]) == ["ann"]


def test_equally_idle_agents_are_ranked_the_same_way_every_time() -> None:
    agents = [agent("bob", 5, {"api": 1}), agent("ann", 5, {"api": 1})]
    forward = rank(UNROUTED, chat(channel_type="api"), agents)
    assert forward == rank(UNROUTED, chat(channel_type="api"), agents[::-1]) == ["ann", "bob"]


def test_the_conversations_worth_considering_are_those_of_types_someone_has_room_for() -> None:
    agents = [
        agent("ann", 3, {"webchat": 1, "voice": 1}, webchat=1),
        agent("bob", 3, {"api": 2, "email": 0}),
    ]
    assert channel_types_with_room(agents) == {"voice", "api"}
    assert channel_types_with_room([]) == set()


def test_without_routing_the_longest_waiting_conversation_comes_first() -> None:
    waiting = [chat("new", 5.0), chat("old", 90.0, tier="vip"), chat("mid", 30.0)]
    assert [c.id for c in in_order(UNROUTED, waiting)] == ["old", "mid", "new"]


# --- queues and skills --------------------------------------------------------------------

SUPPORT = policy(
    skills=["billing", "spanish"],
    queues=[
        {"name": "general", "priority": 0},
        {
            "name": "spanish",
            "priority": 5,
            "selector": "language == 'es'",
            "skills": [{"name": "spanish", "minLevel": 3}],
        },
        {
            "name": "vip",
            "priority": 10,
            "selector": "tier == 'vip'",
            "skills": [{"name": "billing", "minLevel": 2}],
        },
    ],
)


def test_a_contact_joins_the_selecting_queue_of_highest_priority() -> None:
    assert SUPPORT.queue_of({"tier": "vip", "language": "es"}).name == "vip"
    assert SUPPORT.queue_of({"language": "es"}).name == "spanish"
    assert SUPPORT.queue_of({"language": "en"}).name == "general"


def test_a_contact_no_queue_selects_goes_to_the_default_queue_or_to_anyone() -> None:
    narrow = {"queues": [{"name": "vip", "selector": "tier == 'vip'", "priority": 1}]}
    with_default = {
        "queues": [*narrow["queues"], {"name": "rest", "selector": "tier == 'x'"}],
        "defaultQueue": "rest",
    }
    assert policy(**with_default).queue_of({"tier": "gold"}).name == "rest"
    assert policy(**narrow).queue_of({"tier": "gold"}).name == ""
    assert policy(**narrow).queue_of({"tier": "gold"}).skills == {}


def test_only_agents_with_every_skill_at_its_minimum_level_qualify() -> None:
    agents = [
        agent("ann", 30, {"webchat": 2}),  # no skills
        agent("bob", 20, {"webchat": 2}, {"spanish": 2}),  # level too low
        agent("cid", 10, {"webchat": 2}, {"spanish": 3}),
        agent("dan", 5, {"webchat": 2}, {"spanish": 5, "billing": 1}),
    ]
    assert rank(SUPPORT, chat(language="es"), agents) == ["cid", "dan"]
    assert rank(SUPPORT, chat(tier="vip"), agents) == []
    assert rank(SUPPORT, chat(language="en"), agents) == ["ann", "bob", "cid", "dan"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        # ann: idle for 40 min but holds 2; bob holds 1, idle 10 min; cid holds 1, idle 20 min
        # and was offered something 1 min ago; dan holds nothing, idle 2 min, never offered.
        ("LongestIdle", ["dan", "ann", "cid", "bob"]),
        ("FewestActive", ["dan", "cid", "bob", "ann"]),
        ("RoundRobin", ["dan", "ann", "bob", "cid"]),
    ],
)
def test_each_strategy_orders_the_qualified_agents_its_own_way(
    strategy: str, expected: list[str]
) -> None:
    agents = [
        agent("ann", 40, {"webchat": 3}, offered_minutes_ago=30, webchat=2),
        agent("bob", 10, {"webchat": 3}, offered_minutes_ago=10, webchat=1),
        agent("cid", 20, {"webchat": 3}, offered_minutes_ago=1, webchat=1),
        agent("dan", 2, {"webchat": 3}),
    ]
    queues = policy(queues=[{"name": "only", "strategy": strategy}])
    assert rank(queues, chat(), agents) == expected


# --- overflow -----------------------------------------------------------------------------

OVERFLOWING = policy(
    skills=["billing", "tech"],
    queues=[
        {
            "name": "billing",
            "priority": 2,
            "selector": "intent == 'billing'",
            "skills": [{"name": "billing", "minLevel": 3}],
            "overflow": [{"queue": "wide", "after": "60s"}, {"queue": "general", "after": "2m"}],
        },
        {
            "name": "wide",
            "priority": 1,
            "selector": "intent == 'never'",
            "skills": [{"name": "billing", "minLevel": 1}],
        },
        {"name": "general", "selector": "intent == 'never'"},
    ],
)
EXPERT = agent("expert", 1, {"webchat": 1}, {"billing": 5})
JUNIOR = agent("junior", 50, {"webchat": 1}, {"billing": 1})
ANYONE = agent("anyone", 90, {"webchat": 1}, {"tech": 4})


@pytest.mark.parametrize(
    ("waited", "expected"),
    [
        (0.0, ["expert"]),
        (59.9, ["expert"]),
        # after 60 s the wider skill group joins, after the queue's own agents
        (60.0, ["expert", "junior"]),
        (179.9, ["expert", "junior"]),
        # each timeout counts from the previous step: 60 s, then 120 s more
        (180.0, ["expert", "junior", "anyone"]),
    ],
)
def test_a_waiting_contact_overflows_to_each_queue_after_its_timeout(
    waited: float, expected: list[str]
) -> None:
    contact = chat(waited=waited, intent="billing")
    assert rank(OVERFLOWING, contact, [ANYONE, JUNIOR, EXPERT]) == expected


def test_an_overflowed_contact_goes_to_whoever_has_room_first() -> None:
    busy_expert = agent("expert", 1, {"webchat": 1}, {"billing": 5}, webchat=1)
    contact = chat(waited=61.0, intent="billing")
    assert rank(OVERFLOWING, contact, [busy_expert, JUNIOR, ANYONE]) == ["junior"]


# --- priority and ageing ------------------------------------------------------------------

AGEING = policy(
    queues=[
        {"name": "vip", "priority": 10, "selector": "tier == 'vip'"},
        {"name": "regular", "priority": 0, "ageingPerMinute": 2.0},
    ]
)


def test_a_vip_contact_overtakes_a_regular_one_waiting_longer() -> None:
    waiting = [chat("regular", 120.0), chat("vip", 1.0, tier="vip")]
    assert [c.id for c in in_order(AGEING, waiting)] == ["vip", "regular"]


def test_a_waiting_contact_s_priority_grows_until_it_overtakes_newer_higher_ones() -> None:
    # 2 points a minute: after 5 minutes the regular contact's 0 has become 10, the VIP's
    # priority; beyond that it comes first, so a stream of VIPs cannot starve it.
    assert AGEING.queues["regular"].effective_priority(300.0) == pytest.approx(10.0)
    overtaken = [chat("regular", 299.0), chat("vip", 0.0, tier="vip")]
    overtaking = [chat("regular", 301.0), chat("vip", 0.0, tier="vip")]
    assert [c.id for c in in_order(AGEING, overtaken)] == ["vip", "regular"]
    assert [c.id for c in in_order(AGEING, overtaking)] == ["regular", "vip"]


def test_equal_effective_priorities_go_oldest_first() -> None:
    waiting = [chat("b", 10.0, tier="vip"), chat("a", 20.0, tier="vip")]
    assert [c.id for c in in_order(AGEING, waiting)] == ["a", "b"]


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
    ranked = rank(UNROUTED, chat(channel_type=channel_type, declined_by=declined_by), agents)
    with_room = {
        a.id for a in agents if a.capacity.get(channel_type, 0) > a.holding.get(channel_type, 0)
    }
    assert sorted(ranked) == sorted(with_room)
    if declined_by in with_room and len(with_room) > 1:
        assert ranked[-1] == declined_by
