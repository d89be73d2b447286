"""The integrity counters: what was acknowledged, shown twice, out of order, or lost."""

import uuid

from switchboard.dataplane.loadgen.ledger import Ledger


def ids(count: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(count)]


def test_a_message_acknowledged_and_answered_is_neither_lost_nor_duplicated() -> None:
    ledger = Ledger()
    ledger.connected(0)
    mine, reply = ids(2)
    ledger.sent(mine, "where is my bill", now=1.0)
    acknowledged = ledger.acknowledged(mine, 1, now=1.2)
    assert acknowledged is not None and acknowledged.seq == 1
    shown = ledger.received(2, reply, "bot", "here", now=1.5)
    assert shown is not None and [m.seq for m in shown.answered] == [1]
    assert shown.answered[0].answered_at == 1.5
    assert ledger.cursor == 2
    assert (ledger.lost(), ledger.duplicated, ledger.out_of_order) == (0, 0, 0)


def test_a_message_pushed_twice_on_one_connection_is_a_duplicate() -> None:
    ledger = Ledger()
    ledger.connected(0)
    first = uuid.uuid4()
    assert ledger.received(1, first, "bot", "hello", now=0) is not None
    assert ledger.received(1, first, "bot", "hello", now=0) is None
    assert ledger.duplicated == 1


def test_after_a_resume_only_what_follows_the_cursor_is_new() -> None:
    ledger = Ledger()
    ledger.connected(0)
    a, b, c = ids(3)
    ledger.received(1, a, "bot", "one", now=0)
    ledger.received(2, b, "bot", "two", now=0)
    ledger.connected(ledger.cursor)  # the connection dropped; resume after 2
    assert ledger.received(3, c, "bot", "three", now=0) is not None
    assert ledger.received(2, b, "bot", "two", now=0) is None  # the server sent 2 again
    assert ledger.duplicated == 1


def test_own_messages_acknowledged_past_a_gap_may_come_again_after_a_resume() -> None:
    ledger = Ledger()
    ledger.connected(0)
    reply, mine = ids(2)
    ledger.sent(mine, "hi", now=0)
    ledger.acknowledged(mine, 2, now=0)  # seq 1 (a bot message) not shown yet
    assert ledger.cursor == 0
    ledger.connected(ledger.cursor)  # dropped before seq 1 came; resume after 0
    ledger.received(1, reply, "bot", "welcome", now=0)
    assert ledger.received(2, mine, "customer", "hi", now=0) is None
    assert ledger.cursor == 2
    assert (ledger.duplicated, ledger.out_of_order) == (0, 0)


def test_a_gap_filled_by_someone_elses_message_was_out_of_order() -> None:
    ledger = Ledger()
    ledger.connected(0)
    assert ledger.received(2, uuid.uuid4(), "bot", "two", now=0) is not None
    assert ledger.cursor == 0  # it still lacks seq 1
    assert ledger.out_of_order == 0  # seq 1 may be the client's own, on its way
    assert ledger.received(1, uuid.uuid4(), "agent", "one", now=0) is not None
    assert ledger.out_of_order == 1
    assert ledger.cursor == 2


def test_a_gap_the_clients_own_message_fills_is_in_order() -> None:
    ledger = Ledger()
    ledger.connected(0)
    mine = uuid.uuid4()
    ledger.sent(mine, "hi", now=0)
    ledger.received(2, uuid.uuid4(), "agent", "hello", now=0)  # its ack waits for the broker
    ledger.acknowledged(mine, 1, now=0)
    assert (ledger.out_of_order, ledger.cursor) == (0, 2)


def test_one_seq_shown_as_two_messages_is_a_duplicate() -> None:
    ledger = Ledger()
    ledger.connected(0)
    ledger.received(1, uuid.uuid4(), "bot", "one", now=0)
    ledger.connected(0)
    assert ledger.received(1, uuid.uuid4(), "bot", "another one", now=0) is None
    assert ledger.duplicated == 1


def test_one_message_acknowledged_under_two_seqs_is_a_duplicate() -> None:
    ledger = Ledger()
    ledger.connected(0)
    mine = uuid.uuid4()
    ledger.sent(mine, "hi", now=0)
    ledger.acknowledged(mine, 1, now=0)
    ledger.connected(1)
    assert ledger.acknowledged(mine, 2, now=0) is None  # the resend stored again
    assert ledger.duplicated == 1


def test_a_resend_acknowledged_with_its_seq_again_counts_once() -> None:
    ledger = Ledger()
    ledger.connected(0)
    mine = uuid.uuid4()
    ledger.sent(mine, "hi", now=0)
    assert ledger.outbox() == [mine]
    assert ledger.acknowledged(mine, 1, now=0) is not None
    assert ledger.outbox() == []
    ledger.connected(1)
    assert ledger.acknowledged(mine, 1, now=0) is None
    assert ledger.duplicated == 0


def test_an_unanswered_message_must_be_in_the_transcript() -> None:
    ledger = Ledger()
    ledger.connected(0)
    mine = uuid.uuid4()
    ledger.sent(mine, "anyone?", now=0)
    ledger.acknowledged(mine, 1, now=0)
    assert [m.seq for m in ledger.unanswered()] == [1]
    assert ledger.lost([]) == 1
    assert ledger.lost([(1, uuid.uuid4())]) == 1  # something else under its seq
    assert ledger.lost([(1, mine)]) == 0


def test_messages_never_acknowledged_are_not_counted_lost() -> None:
    ledger = Ledger()
    ledger.sent(uuid.uuid4(), "lost in the network", now=0)
    assert ledger.lost([]) == 0


def test_a_seq_taken_by_another_message_loses_the_acknowledged_one() -> None:
    ledger = Ledger()
    ledger.connected(0)
    other, mine = ids(2)
    ledger.received(1, other, "bot", "hello", now=0)
    ledger.sent(mine, "hi", now=0)
    ledger.acknowledged(mine, 1, now=0)
    assert ledger.duplicated == 1
    assert ledger.lost([(1, other)]) == 1


def test_the_record_lists_what_was_acknowledged_and_shown() -> None:
    ledger = Ledger()
    ledger.connected(0)
    mine, reply, unacknowledged = ids(3)
    ledger.sent(mine, "hi", now=0)
    ledger.sent(unacknowledged, "still there?", now=0)
    ledger.acknowledged(mine, 1, now=0)
    ledger.received(2, reply, "bot", "hello", now=0)
    assert ledger.record() == {
        "acknowledged": [(1, str(mine))],
        "shown": [(1, str(mine)), (2, str(reply))],
    }
