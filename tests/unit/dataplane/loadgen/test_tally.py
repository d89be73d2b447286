"""What a run counts: how conversations ended, each tier's first answer against the SLA, and
the summary's figures."""

import uuid

from switchboard.dataplane.loadgen.ledger import Ledger
from switchboard.dataplane.loadgen.tally import Tally, Visit, summary_table


def test_the_bot_tier_is_timed_from_the_start_and_the_agents_tier_from_the_handoff() -> None:
    visit = Visit(started_at=10.0)
    visit.shown("bot", 12.0)  # first answer
    visit.shown("bot", 30.0)  # the handoff message
    visit.shown("system", 55.0)  # an agent joined
    visit.shown("agent", 56.0)
    assert (visit.bot_wait, visit.agent_wait) == (2.0, 25.0)


def test_how_a_conversation_ended_decides_what_it_counts_as() -> None:
    tally = Tally(within_seconds=20)
    cases = [
        (Visit(started_at=0, bot_wait=1, ended="resolved"), False),  # contained
        (Visit(started_at=0, bot_wait=1, agent_wait=30, ended="resolved"), True),
        (Visit(started_at=0, bot_wait=25, ended="abandoned"), True),  # left in the queue
        (Visit(started_at=0, ended="abandoned"), False),  # left before the bot answered
        (Visit(started_at=0, bot_wait=2), False),  # still open at the end
    ]
    for visit, handed_off in cases:
        tally.conversation_finished(visit, handed_off=handed_off, ledger=Ledger(), lost=0)
    report = tally.report(elapsed=60)
    assert report["conversations"] == {
        "started": 0,
        "finished": 5,
        "contained": 1,
        "handed_off": 2,
        "abandoned": 2,
        "unfinished": 1,
    }
    assert report["answered_within_sla"]["bot"] == {"answered": 4, "within": 3, "share": 0.75}
    assert report["answered_within_sla"]["agent"] == {"answered": 1, "within": 0, "share": 0.0}


def test_the_integrity_counters_add_up_over_conversations() -> None:
    tally = Tally(within_seconds=20)
    for duplicated in (0, 2, 1):
        ledger = Ledger()
        ledger.connected(0)
        message = uuid.uuid4()
        for _ in range(duplicated + 1):
            ledger.received(1, message, "bot", "hi", now=0)
        tally.conversation_finished(Visit(), handed_off=False, ledger=ledger, lost=1)
    report = tally.report(elapsed=1)
    assert (report["lost_messages"], report["duplicated_messages"]) == (3, 3)
    table = summary_table(report)
    assert "lost messages               3" in table
    assert "duplicated messages         3" in table


def test_bot_reply_latency_counts_each_answered_message_once() -> None:
    tally = Tally(within_seconds=20)
    ledger = Ledger()
    ledger.connected(0)
    first, second, reply = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ledger.sent(first, "a", now=0.0)
    ledger.sent(second, "b", now=0.1)
    for message_id, seq in ((first, 1), (second, 2)):
        own = ledger.acknowledged(message_id, seq, now=0.2)
        assert own is not None
        tally.message_acknowledged(own)
    shown = ledger.received(3, reply, "bot", "answer", now=0.5)
    assert shown is not None
    tally.message_shown(shown, at=0.5)
    report = tally.report(elapsed=1)
    assert report["messages"]["answered"] == 2
    assert report["latency_ms"]["bot_reply"]["count"] == 2
    assert report["latency_ms"]["acknowledgement"]["count"] == 2
