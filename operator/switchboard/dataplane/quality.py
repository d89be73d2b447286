"""Quality figures of a contact center, from its event log (pure; docs/metrics.md, "Quality
figures"): first response time, handle time, service level (and its variant without short
abandons), abandonment, first-contact resolution, CSAT and NPS.

The figures mean what the metrics contract's PromQL gives over the same contacts (docs/metrics.md):
a tier's offered, answered and abandoned contacts, its wait and handle time, as the roles record
them where the events happen; the integration tests check the roles' counts against them. It
reads the `events` table's rows and the conversations' customer and channel, nothing else. It
also says what a customer's survey answer is (`survey_score`), for the gateway.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any, Literal

from switchboard.dataplane.gateway.protocol import GUEST

Tier = Literal["bot", "agent"]
Survey = Literal["csat", "nps"]

CSAT_SCORES = range(1, 6)
NPS_SCORES = range(0, 11)
SCALES: Mapping[Survey, range] = {"csat": CSAT_SCORES, "nps": NPS_SCORES}

# A number alone, maybe out of its scale's top and with a full stop or exclamation mark.
_ANSWER = re.compile(r"\s*(\d{1,2})\s*(?:/\s*(?:5|10))?\s*[.!]*\s*")


def survey_score(survey: Survey, text: str) -> int | None:
    """The score a customer's message gives in answer to `survey`'s question (`4`, ` 4/5 `,
    `10!`), or None when it is not an answer: anything else, or a number off the scale."""
    answer = _ANSWER.fullmatch(text)
    if answer is None:
        return None
    score = int(answer.group(1))
    return score if score in SCALES[survey] else None


@dataclass(frozen=True)
class Event:
    """One row of the store's `events` table."""

    conversation: uuid.UUID
    type: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """Who a conversation is with, and where (its `conversations` row)."""

    customer: str
    channel: str


@dataclass(frozen=True)
class Contact:
    """One conversation, as its events tell it."""

    id: uuid.UUID
    customer: str
    channel: str
    arrived: datetime
    admitted: datetime | None = None
    bot_answered: datetime | None = None
    """The bot's first answer."""
    handed_off: datetime | None = None
    accepted: datetime | None = None
    ended: datetime | None = None
    outcome: Literal["resolved", "abandoned"] | None = None
    """None while it is open."""
    abandoned_waiting_for: Tier | None = None

    @property
    def first_response(self) -> datetime | None:
        """The first answer the customer got, the bot's or an agent's accept."""
        answers = [at for at in (self.bot_answered, self.accepted) if at is not None]
        return min(answers, default=None)

    def offered_to(self, tier: Tier) -> datetime | None:
        """When the tier's wait began: arrival for the bot, the handoff for the agents."""
        return self.arrived if tier == "bot" else self.handed_off

    def answered_by(self, tier: Tier) -> datetime | None:
        return self.bot_answered if tier == "bot" else self.accepted

    def handle_seconds(self, tier: Tier) -> float | None:
        """The tier's time with the customer: the bot's from admission until it handed off or
        the conversation ended; an agent's from the accept to the end."""
        if tier == "bot":
            left_bot = self.handed_off or self.ended
            if self.admitted is None or left_bot is None:
                return None
            return (left_bot - self.admitted).total_seconds()
        if self.accepted is None or self.ended is None:
            return None
        return (self.ended - self.accepted).total_seconds()


_STEPS = ("admitted", "bot_answered", "handed_off", "accepted")
"""The events whose first occurrence is a step of a contact, under the same name."""


def contacts(identities: Mapping[uuid.UUID, Identity], events: Iterable[Event]) -> list[Contact]:
    """The contacts of the conversations that `entered` among `events` (the log of a period,
    in any order), each known by `identities`. A conversation entered before the period is not a
    contact of it; an event of an unknown conversation is an error of the caller's."""
    by_conversation: dict[uuid.UUID, list[Event]] = {}
    for event in events:
        by_conversation.setdefault(event.conversation, []).append(event)
    found = []
    for conversation, logged in by_conversation.items():
        ordered = sorted(logged, key=lambda event: event.at)
        entered = next((event for event in ordered if event.type == "entered"), None)
        if entered is None:
            continue
        identity = identities[conversation]
        steps: dict[str, Any] = {}
        for event in ordered:
            if event.type in _STEPS:
                steps.setdefault(event.type, event.at)
            elif event.type in ("resolved", "abandoned"):
                steps["ended"], steps["outcome"] = event.at, event.type
                if event.type == "abandoned":
                    steps["abandoned_waiting_for"] = event.data["waiting_for"]
        found.append(
            Contact(conversation, identity.customer, identity.channel, entered.at, **steps)
        )
    return sorted(found, key=lambda contact: contact.arrived)


@dataclass(frozen=True)
class TierFigures:
    """A tier's queue: what it was offered and how it answered."""

    offered: int
    answered: int
    answered_within: int
    """Answered within the service-level threshold."""
    abandoned: int
    short_abandoned: int
    """Abandoned within the short-abandon threshold: customers who hung up at once."""
    handle_seconds: float | None
    """The mean handle time."""

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold, over offered."""
        return _ratio(self.answered_within, self.offered)

    @property
    def service_level_without_short_abandons(self) -> float | None:
        """Answered within the threshold, over offered less the short abandons."""
        return _ratio(self.answered_within, self.offered - self.short_abandoned)

    @property
    def abandonment(self) -> float | None:
        return _ratio(self.abandoned, self.offered)


def tier_figures(
    contacts: Sequence[Contact], tier: Tier, *, threshold: float, short_abandon: float
) -> TierFigures:
    """`tier`'s figures over `contacts`: answered within `threshold` seconds of being offered
    to it; an abandon after at most `short_abandon` seconds of waiting is short."""
    offered = answered = within = abandoned = short = 0
    handle_times = []
    for contact in contacts:
        start = contact.offered_to(tier)
        if start is None:
            continue
        offered += 1
        answer = contact.answered_by(tier)
        if answer is not None:
            answered += 1
            within += (answer - start).total_seconds() <= threshold
        elif contact.abandoned_waiting_for == tier and contact.ended is not None:
            abandoned += 1
            short += (contact.ended - start).total_seconds() <= short_abandon
        handled = contact.handle_seconds(tier)
        if handled is not None:
            handle_times.append(handled)
    return TierFigures(
        offered=offered,
        answered=answered,
        answered_within=within,
        abandoned=abandoned,
        short_abandoned=short,
        handle_seconds=fmean(handle_times) if handle_times else None,
    )


def first_response_seconds(contacts: Iterable[Contact]) -> float | None:
    """The mean time from arrival to the first answer, over the contacts that got one."""
    waits = [
        (contact.first_response - contact.arrived).total_seconds()
        for contact in contacts
        if contact.first_response is not None
    ]
    return fmean(waits) if waits else None


@dataclass(frozen=True)
class Resolution:
    resolved: int
    """Resolved contacts whose repeat window has passed."""
    repeated: int
    """Of those, the ones the same customer contacted again (on any channel) within it."""

    @property
    def first_contact_resolution(self) -> float | None:
        return _ratio(self.resolved - self.repeated, self.resolved)


def resolution(contacts: Sequence[Contact], *, window: timedelta, now: datetime) -> Resolution:
    """First-contact resolution: a resolved contact is repeated when the same customer started
    another within `window` of its end (an arrival exactly `window` after still repeats it).
    One whose window has not passed by `now` is not judged yet, nor one of a guest (anyone)."""
    arrivals: dict[str, list[datetime]] = {}
    for contact in contacts:
        arrivals.setdefault(contact.customer, []).append(contact.arrived)
    resolved = repeated = 0
    for contact in contacts:
        if contact.outcome != "resolved" or contact.ended is None or contact.customer == GUEST:
            continue
        ended = contact.ended
        if ended + window > now:
            continue
        resolved += 1
        repeated += any(ended <= at <= ended + window for at in arrivals[contact.customer])
    return Resolution(resolved, repeated)


def _scores(scores: Sequence[int], allowed: range, survey: str) -> None:
    for score in scores:
        if score not in allowed:
            raise ValueError(
                f"a {survey} score is {allowed.start} to {allowed.stop - 1}, not {score}"
            )


def csat(scores: Sequence[int]) -> tuple[float, float] | None:
    """The mean of 1-5 answers and the share satisfied (4 or 5); None without answers."""
    _scores(scores, CSAT_SCORES, "CSAT")
    if not scores:
        return None
    return fmean(scores), sum(score >= 4 for score in scores) / len(scores)


def nps(scores: Sequence[int]) -> float | None:
    """Net promoter score, in points from -100 to 100: the percentage of promoters (9 or 10)
    less that of detractors (0 to 6); None without answers."""
    _scores(scores, NPS_SCORES, "NPS")
    if not scores:
        return None
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    return 100 * (promoters - detractors) / len(scores)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None
