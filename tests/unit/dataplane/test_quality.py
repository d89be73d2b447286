"""Quality figures from an event log, checked against arithmetic done by hand in each test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.dataplane.quality import (
    Contact,
    Event,
    Identity,
    Survey,
    contacts,
    csat,
    first_response_seconds,
    nps,
    resolution,
    survey_score,
    tier_figures,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


A, B, C, D, E = (uuid.UUID(int=n) for n in range(1, 6))
IDENTITIES = {
    A: Identity("alice", "webchat"),
    B: Identity("bob", "webchat"),
    C: Identity("carol", "api"),
    D: Identity("dave", "webchat"),
    E: Identity("erin", "texts"),
}


def log(conversation: uuid.UUID, *steps: tuple[float, str]) -> list[Event]:
    return [
        Event(
            conversation,
            kind,
            at(seconds),
            {"waiting_for": "agent" if conversation == D else "bot"} if kind == "abandoned" else {},
        )
        for seconds, kind in steps
    ]


# One morning, seconds after T0. Service-level threshold 15 s, short abandons up to 5 s.
DAY_LOG = [
    # alice: the bot answers at 4, hands off at 60; an agent accepts at 70, resolves at 370.
    *log(A, (0, "entered"), (0, "admitted"), (4, "bot_answered"), (30, "bot_answered"),
         (60, "handed_off"), (62, "offered"), (70, "accepted"), (370, "resolved")),
    # bob: admitted at 12, answered at 25 (15 s after arriving), contained at 100.
    *log(B, (10, "entered"), (12, "admitted"), (25, "bot_answered"), (100, "resolved")),
    # carol: leaves after 3 s, before a bot slot.
    *log(C, (20, "entered"), (23, "abandoned")),
    # dave: answered at 32, handed off at 40, leaves the agents' queue at 140.
    *log(D, (30, "entered"), (30, "admitted"), (32, "bot_answered"), (40, "handed_off"),
         (140, "abandoned")),
    # erin: answered at 70 (20 s), handed off at 80, an offer expires, accepted at 110, resolved
    # at 200.
    *log(E, (50, "entered"), (51, "admitted"), (70, "bot_answered"), (80, "handed_off"),
         (81, "offered"), (101, "offer_expired"), (102, "offered"), (110, "accepted"),
         (200, "resolved")),
]  # fmt: skip


def day() -> list[Contact]:
    return contacts(IDENTITIES, reversed(DAY_LOG))  # the log's order does not matter


def test_a_contact_is_folded_from_its_events() -> None:
    erin = next(contact for contact in day() if contact.id == E)
    assert erin == Contact(
        E,
        "erin",
        "texts",
        arrived=at(50),
        admitted=at(51),
        bot_answered=at(70),
        handed_off=at(80),
        accepted=at(110),
        ended=at(200),
        outcome="resolved",
    )
    carol = next(contact for contact in day() if contact.id == C)
    assert (carol.outcome, carol.abandoned_waiting_for, carol.ended) == ("abandoned", "bot", at(23))


def test_a_conversation_that_entered_before_the_log_is_no_contact_of_it() -> None:
    later = [event for event in DAY_LOG if not (event.conversation == A and event.at == at(0))]
    assert [contact.id for contact in contacts(IDENTITIES, later)] == [B, C, D, E]


def test_the_bot_tier() -> None:
    bot = tier_figures(day(), "bot", threshold=15, short_abandon=5)
    # Offered: all five. Answered: alice 4 s, bob 15 s (at the threshold: within), dave 2 s,
    # erin 20 s (late). Carol abandoned after 3 s: a short abandon.
    assert (bot.offered, bot.answered, bot.answered_within) == (5, 4, 3)
    assert (bot.abandoned, bot.short_abandoned) == (1, 1)
    assert bot.service_level == pytest.approx(3 / 5)
    assert bot.service_level_without_short_abandons == pytest.approx(3 / (5 - 1))
    assert bot.abandonment == pytest.approx(1 / 5)
    # Admission to leaving the bot: alice 0→60, bob 12→100, dave 30→40, erin 51→80; carol was
    # never admitted.
    assert bot.handle_seconds == pytest.approx((60 + 88 + 10 + 29) / 4)


def test_the_agent_tier() -> None:
    agent = tier_figures(day(), "agent", threshold=15, short_abandon=5)
    # Offered: the three handed off. Waits from the handoff: alice 60→70 = 10 s (within), erin
    # 80→110 = 30 s (the expired offer counts in it); dave left after 100 s (not short).
    assert (agent.offered, agent.answered, agent.answered_within) == (3, 2, 1)
    assert (agent.abandoned, agent.short_abandoned) == (1, 0)
    assert agent.service_level == pytest.approx(1 / 3)
    assert agent.service_level_without_short_abandons == pytest.approx(1 / 3)
    assert agent.abandonment == pytest.approx(1 / 3)
    # Accept to resolve: alice 70→370 = 300, erin 110→200 = 90.
    assert agent.handle_seconds == pytest.approx((300 + 90) / 2)


def test_first_response_time() -> None:
    # Alice 4, bob 15, dave 2, erin 20; carol got no answer.
    assert first_response_seconds(day()) == pytest.approx((4 + 15 + 2 + 20) / 4)


def test_an_agent_accept_is_a_first_response_when_the_bot_never_answered() -> None:
    contact = Contact(A, "alice", "webchat", arrived=at(0), handed_off=at(1), accepted=at(9))
    assert first_response_seconds([contact]) == 9


def contact(
    customer: str, arrived: float, ended: float | None = None, outcome: str = "resolved"
) -> Contact:
    return Contact(
        uuid.uuid4(),
        customer,
        "webchat",
        arrived=at(arrived),
        ended=at(ended) if ended is not None else None,
        outcome="resolved" if ended is not None and outcome == "resolved" else None,
    )


def test_first_contact_resolution_and_its_window_boundaries() -> None:
    window = DAY.total_seconds()
    alice = contact("alice", 0, 370)
    bob = contact("bob", 10, 100)
    erin = contact("erin", 50, 200)
    later = [
        contact("alice", 370 + window),  # exactly a window after her resolve: a repeat
        contact("bob", 100 + window + 1),  # a second past his window: a new matter
        contact("erin", 0),  # erin's earlier contact, before her resolve, does not repeat it
    ]
    everyone = [alice, bob, erin, *later]
    judged = resolution(everyone, window=DAY, now=at(3 * window))
    assert (judged.resolved, judged.repeated) == (3, 1)
    assert judged.first_contact_resolution == pytest.approx((3 - 1) / 3)
    # A second before alice's window closes, only bob's and erin's are judged: neither repeated.
    early = resolution(everyone, window=DAY, now=at(370 + window - 1))
    assert (early.resolved, early.repeated, early.first_contact_resolution) == (2, 0, 1.0)


def test_a_repeat_on_another_channel_counts() -> None:
    resolved = contact("alice", 0, 60)
    again = Contact(uuid.uuid4(), "alice", "texts", arrived=at(600))
    judged = resolution([resolved, again], window=timedelta(hours=1), now=at(60 + 3600))
    assert (judged.resolved, judged.repeated) == (1, 1)


def test_guests_are_not_judged_they_could_be_anyone() -> None:
    guests = [contact("guest", 0, 60), contact("guest", 120)]
    judged = resolution(guests, window=DAY, now=at(2 * DAY.total_seconds()))
    assert (judged.resolved, judged.repeated, judged.first_contact_resolution) == (0, 0, None)


def test_no_contacts() -> None:
    for tier in ("bot", "agent"):
        empty = tier_figures([], tier, threshold=20, short_abandon=5)
        assert (empty.offered, empty.service_level, empty.abandonment) == (0, None, None)
        assert empty.service_level_without_short_abandons is None
        assert empty.handle_seconds is None
    assert first_response_seconds([]) is None
    assert resolution([], window=DAY, now=T0).first_contact_resolution is None
    assert csat([]) is None
    assert nps([]) is None


def test_all_abandoned() -> None:
    gone = [
        Contact(uuid.uuid4(), name, "webchat", arrived=at(0), ended=at(waited),
                outcome="abandoned", abandoned_waiting_for="bot")
        for name, waited in (("a", 2), ("b", 5), ("c", 30))
    ]  # fmt: skip
    bot = tier_figures(gone, "bot", threshold=20, short_abandon=5)
    # Three offered, none answered; 2 s and 5 s (at the limit) are short.
    assert (bot.offered, bot.abandoned, bot.short_abandoned) == (3, 3, 2)
    assert bot.service_level == 0.0
    assert bot.service_level_without_short_abandons == 0.0  # 0 / (3 - 2)
    assert bot.abandonment == 1.0
    assert first_response_seconds(gone) is None
    only_short = tier_figures(gone[:2], "bot", threshold=20, short_abandon=5)
    assert only_short.service_level_without_short_abandons is None  # 0 / (2 - 2)


def test_csat() -> None:
    # Mean (5 + 4 + 3 + 1 + 5) / 5 = 3.6; satisfied: 5, 4, 5 = 3 of 5.
    assert csat([5, 4, 3, 1, 5]) == pytest.approx((3.6, 0.6))


def test_nps() -> None:
    # Promoters 10, 10, 9 (60 %), passive 8, detractor 2 (20 %): 60 - 20 = 40.
    assert nps([10, 10, 9, 8, 2]) == pytest.approx(40)
    # Promoters 10, 9, 10; passives 8, 7; detractors 6, 0, 3: 3/8 - 3/8 = 0. 6 is a detractor.
    assert nps([10, 9, 8, 7, 6, 0, 10, 3]) == pytest.approx(0)
    assert nps([0, 6]) == pytest.approx(-100)


@pytest.mark.parametrize(("figure", "score"), [(csat, 0), (csat, 6), (nps, -1), (nps, 11)])
def test_a_score_out_of_its_scale_is_refused(figure: object, score: int) -> None:
    with pytest.raises(ValueError, match=f"not {score}"):
        figure([3, score])  # type: ignore[operator]


@pytest.mark.parametrize(
    ("survey", "text", "score"),
    [
        ("csat", "4", 4),
        ("csat", " 5/5 ", 5),
        ("csat", "1.", 1),
        ("csat", "0", None),  # below the scale
        ("csat", "6", None),  # above it
        ("csat", "4 stars", None),  # words: a message, not an answer
        ("csat", "I need help again", None),
        ("nps", "0", 0),
        ("nps", "10!", 10),
        ("nps", "9/10", 9),
        ("nps", "11", None),
        ("nps", "-3", None),
    ],
)
def test_a_survey_answer_is_a_number_alone_on_its_scale(
    survey: Survey, text: str, score: int | None
) -> None:
    assert survey_score(survey, text) == score
