"""A conversation's states: what moves it, where a customer's message goes, what leaving is."""

import uuid

import pytest

from switchboard.dataplane.conversation import (
    InvalidTransition,
    Route,
    State,
    Step,
    after,
    departure,
    reply_id,
    route,
)


def test_the_happy_path_through_a_handoff() -> None:
    state = State.BOT
    for step, expected in (
        (Step.HAND_OFF, State.QUEUED),
        (Step.OFFER, State.OFFERED),
        (Step.OFFER_EXPIRED, State.QUEUED),
        (Step.OFFER, State.OFFERED),
        (Step.ACCEPT, State.AGENT),
        (Step.RESOLVE, State.RESOLVED),
    ):
        state = after(state, step)
        assert state is expected


@pytest.mark.parametrize(
    ("state", "step"),
    [
        (State.QUEUED, Step.ACCEPT),  # an accept without an offer
        (State.AGENT, Step.HAND_OFF),  # the bot hands off what an agent already has
        (State.RESOLVED, Step.RESOLVE),  # a repeated resolve
        (State.ABANDONED, Step.OFFER),  # an offer of a contact who left
        (State.AGENT, Step.ABANDON),  # with an agent the customer resolves, not abandons
        (State.RESOLVED, Step.OFFER_EXPIRED),
    ],
)
def test_a_late_or_repeated_step_cannot_move_a_conversation_backwards(
    state: State, step: Step
) -> None:
    with pytest.raises(InvalidTransition):
        after(state, step)


def test_customer_messages_go_to_whoever_has_the_conversation() -> None:
    assert route(State.BOT, admitted=False) is Route.BOT_NEW
    assert route(State.BOT, admitted=True) is Route.BOT
    for waiting in (State.QUEUED, State.OFFERED, State.AGENT):
        assert route(waiting, admitted=True) is Route.AGENT
    for ended in (State.RESOLVED, State.ABANDONED):
        assert route(ended, admitted=True) is Route.CLOSED


def test_leaving_before_an_answer_abandons_that_tier_and_after_one_ends_the_conversation() -> None:
    assert departure(State.BOT, bot_answered=False).waiting_for == "bot"
    assert departure(State.BOT, bot_answered=False).step is Step.ABANDON
    contained = departure(State.BOT, bot_answered=True)
    assert (contained.step, contained.contained) == (Step.RESOLVE, True)
    for waiting in (State.QUEUED, State.OFFERED):
        assert departure(waiting, bot_answered=True).waiting_for == "agent"
    with_agent = departure(State.AGENT, bot_answered=True)
    assert (with_agent.step, with_agent.contained, with_agent.waiting_for) == (
        Step.RESOLVE,
        False,
        None,
    )
    with pytest.raises(InvalidTransition):
        departure(State.RESOLVED, bot_answered=True)


def test_an_answer_has_the_same_id_on_every_retry_and_differs_per_message_and_index() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert reply_id(first) == reply_id(first)
    assert len({reply_id(first), reply_id(first, 1), reply_id(second)}) == 3
