"""What a customer's leaving counts: the tier abandoned and the wait, the tier's time ended,
containment and resolution."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from switchboard.contract import ContractMetrics
from switchboard.dataplane.conversation import State, departure
from switchboard.dataplane.gateway.accounting import Tally, tally
from switchboard.dataplane.store import Conversation

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)

WITH_BOT = Conversation(
    id=uuid.uuid4(),
    channel="web",
    channel_type="webchat",
    customer="c-1",
    state=State.BOT,
    track="canary",
    model_version="3.2.0",
    admitted=False,
    next_seq=0,
    bot_cursor=0,
    failed_turns=0,
    agent_id=None,
    attributes={},
    webhook=None,
    created_at=T0,
    admitted_at=None,
    bot_answered_at=None,
    queued_at=None,
    accepted_at=None,
)


def _leaves(conversation: Conversation, after_seconds: float) -> Tally:
    leaving = departure(conversation.state, conversation.bot_answered_at is not None)
    return tally(conversation, leaving, T0 + timedelta(seconds=after_seconds))


def test_leaving_after_the_bot_answered_is_contained_and_ends_the_bots_time() -> None:
    answered = replace(
        WITH_BOT,
        admitted=True,
        admitted_at=T0 + timedelta(seconds=3),
        bot_answered_at=T0 + timedelta(seconds=4),
    )
    counted = _leaves(answered, after_seconds=93)
    assert counted.contained and counted.resolved
    assert counted.handled == ("bot", 90.0)
    assert counted.abandoned is None
    assert not counted.tell_agents


def test_leaving_before_a_bot_slot_abandons_the_bot_and_the_bot_spent_no_time() -> None:
    counted = _leaves(WITH_BOT, after_seconds=30)
    assert counted.abandoned == ("bot", 30.0)
    assert counted.handled is None
    assert not counted.contained and not counted.resolved


def test_leaving_an_admitted_conversation_before_the_first_answer_still_ends_the_bots_time() -> (
    None
):
    admitted = replace(WITH_BOT, admitted=True, admitted_at=T0 + timedelta(seconds=10))
    counted = _leaves(admitted, after_seconds=12)
    # The wait for the first answer runs from the arrival, the bot's time from admission.
    assert (counted.abandoned, counted.handled, counted.contained) == (
        ("bot", 12.0),
        ("bot", 2.0),
        False,
    )


@pytest.mark.parametrize("state", [State.QUEUED, State.OFFERED])
def test_leaving_while_waiting_for_an_agent_abandons_the_agents_queue_and_tells_the_agents(
    state: State,
) -> None:
    waiting = replace(
        WITH_BOT,
        state=state,
        bot_answered_at=T0,
        queued_at=T0 + timedelta(seconds=20),
        agent_id="ann" if state is State.OFFERED else None,
    )
    counted = _leaves(waiting, after_seconds=50)
    # The wait for an agent runs from the handoff: 50 - 20 s.
    assert (counted.abandoned, counted.handled, counted.contained) == (("agent", 30.0), None, False)
    assert counted.tell_agents


def test_leaving_an_agent_resolves_it_and_ends_the_agents_time_from_the_accept() -> None:
    with_agent = replace(
        WITH_BOT, state=State.AGENT, agent_id="ann", accepted_at=T0 + timedelta(seconds=60)
    )
    counted = _leaves(with_agent, after_seconds=300)
    assert (counted.abandoned, counted.handled, counted.contained) == (
        None,
        ("agent", 240.0),
        False,
    )
    assert counted.resolved and counted.tell_agents


def test_an_end_read_before_the_start_of_the_tiers_time_counts_no_negative_time() -> None:
    admitted = replace(WITH_BOT, admitted=True, admitted_at=T0 + timedelta(seconds=10))
    assert _leaves(admitted, after_seconds=9).handled == ("bot", 0.0)


def test_the_tally_lands_on_the_contract_series_with_their_labels() -> None:
    registry = CollectorRegistry()
    metrics = ContractMetrics("acme", registry)
    answered = replace(WITH_BOT, admitted_at=T0, bot_answered_at=T0)
    _leaves(answered, after_seconds=45).record(metrics)
    _leaves(replace(WITH_BOT, state=State.QUEUED, queued_at=T0), after_seconds=5).record(metrics)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"contact_center": "acme", **labels})

    assert (
        value("switchboard_bot_conversations_total", model_version="3.2.0", outcome="contained")
        == 1
    )
    assert value("switchboard_contacts_abandoned_total", channel="web", handler="agent") == 1
    assert value("switchboard_contacts_abandoned_total", channel="web", handler="bot") is None
    assert value("switchboard_handle_time_seconds_sum", channel="web", handler="bot") == 45
    assert value("switchboard_contacts_resolved_total", channel="web") == 1
    # The abandon's wait (5 s) falls in the bucket of 5 s and below: a short abandon.
    wait = "switchboard_abandon_wait_seconds_bucket"
    assert value(wait, channel="web", handler="agent", le="2.0") == 0
    assert value(wait, channel="web", handler="agent", le="5.0") == 1
