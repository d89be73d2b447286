"""An agent's screen: every stored message shown once, in order, and what changed since the
last look (offers, conversations held, conversations that ended)."""

import uuid
from datetime import UTC, datetime

from switchboard.dataplane.agents.hub import Push, changes, message_frame, on_push
from switchboard.dataplane.agents.queries import Seen
from switchboard.dataplane.conversation import State
from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.store import Message

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def seen(id: uuid.UUID, state: State, agent: str | None, last_seq: int = 3) -> Seen:
    return Seen(id, agent, state, "web", "webchat", "carol", last_seq, None, 12.0, None)


def test_a_pushed_message_is_sent_only_if_it_is_the_next_one() -> None:
    assert on_push(cursor=4, seq=5) is Push.SEND
    assert on_push(cursor=4, seq=4) is Push.DROP  # shown already (read from the store)
    assert on_push(cursor=4, seq=2) is Push.DROP
    assert on_push(cursor=4, seq=7) is Push.CATCH_UP  # 5 and 6 never came: read them


def test_offers_and_held_conversations_are_told_only_when_they_change() -> None:
    rows = [
        seen(A, State.OFFERED, "ann"),
        seen(B, State.AGENT, "ann"),
        seen(C, State.OFFERED, "bob"),
    ]
    first = changes("ann", rows, None, None, {})
    assert [row.id for row in first.offers or []] == [A]
    assert [row.id for row in first.held or []] == [B]
    again = changes("ann", rows, frozenset({A}), frozenset({B}), {})
    assert (again.offers, again.held) == (None, None)
    expired = changes("ann", rows[1:], frozenset({A}), frozenset({B}), {})
    assert expired.offers == []


def test_a_shown_conversation_with_newer_messages_is_behind() -> None:
    rows = [seen(A, State.AGENT, "ann", last_seq=9), seen(B, State.AGENT, "ann", last_seq=4)]
    assert changes("ann", rows, None, None, {A: 7, B: 4}).behind == [A]


def test_a_shown_conversation_that_ended_or_left_the_agent_is_ended() -> None:
    rows = [
        seen(A, State.RESOLVED, "ann"),
        seen(B, State.ABANDONED, "ann"),
        seen(C, State.AGENT, "ann"),
    ]
    update = changes("ann", rows, None, None, {A: 3, B: 3, C: 3})
    assert [row.id for row in update.ended] == [A, B]


def test_a_stale_read_of_a_conversation_just_accepted_does_not_end_it() -> None:
    # Read before the accept committed, shown after: still offered to this agent, not ended.
    update = changes("ann", [seen(A, State.OFFERED, "ann")], None, None, {A: 0})
    assert update.ended == []


def test_a_message_looks_the_same_pushed_from_a_nudge_or_read_from_the_store() -> None:
    stored = Message(A, 4, B, "customer", None, "Hello?", datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    nudged = Delivery(
        conversation=A,
        channel="web",
        seq=4,
        id=B,
        sender="customer",
        text="Hello?",
        at=stored.created_at.isoformat(),
    )
    for masking in (True, False):
        assert message_frame(nudged, masking=masking) == message_frame(stored, masking=masking)
    assert message_frame(stored, masking=True)["type"] == "message"


def test_agents_see_a_customer_s_card_number_masked_unless_masking_is_off() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    said = "my card is 4111 1111 1111 1111"
    customer = Message(A, 4, B, "customer", None, said, at)
    assert message_frame(customer, masking=True)["text"] == "my card is [card ending 1111]"
    assert message_frame(customer, masking=False)["text"] == said
    agent = Message(A, 5, B, "agent", "Alice", "call us on +44 20 7946 0958", at)
    assert message_frame(agent, masking=True)["text"] == agent.body  # only customers' text
