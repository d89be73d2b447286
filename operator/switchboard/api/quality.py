"""How the contact center's quality figures are measured (docs/metrics.md, "Quality figures")."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from switchboard.api.rules import Rule
from switchboard.api.types import (
    ApiModel,
    Duration,
    defaulted,
    duration_at_least,
    duration_seconds,
)

Question = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"\S")]

SHORT_ABANDON_BOUNDS = (1, 2, 5, 10, 15, 20, 30)
"""The abandon-wait histogram's bucket bounds a short abandon may end at (the contract's
first wait buckets), so PromQL can count the abandons within it."""


class Survey(ApiModel):
    """The satisfaction survey sent when an agent resolves a conversation."""

    RULES = (
        Rule(
            "!self.nps || self.enabled",
            "quality.survey.nps needs quality.survey.enabled: the NPS question follows the "
            "CSAT answer",
            lambda survey: not survey.nps or survey.enabled,
        ),
    )

    enabled: bool = Field(
        False,
        description=(
            "When an agent resolves a conversation, ask the customer, on the channel they "
            "used, for a rating from 1 to 5 (CSAT). Their next message that is such a number "
            "is recorded and counted (switchboard_survey_responses_total), not routed as a new "
            "contact."
        ),
    )
    question: Question = Field(
        "How satisfied are you with the help you got? Please answer with a number from 1 "
        "(not at all) to 5 (very).",
        description="The CSAT question, as the customer reads it. 1 to 500 characters.",
    )
    nps: bool = Field(
        False,
        description=(
            "After the CSAT answer, ask the net promoter question (0 to 10) too. Needs enabled."
        ),
    )
    nps_question: Question = Field(
        "How likely are you to recommend us to a friend? Please answer with a number from 0 "
        "(not at all) to 10 (extremely).",
        description="The NPS question, as the customer reads it. 1 to 500 characters.",
    )
    answer_within: Annotated[Duration, duration_at_least("1m", "quality.survey.answerWithin")] = (
        Field(
            "24h",
            description=(
                "How long after the resolve the customer may answer (both questions); later, "
                "the survey is closed and a message is what it would be without one (on an "
                "sms, whatsapp or social channel, a new contact). At least 1m. Format: a "
                "duration such as `24h`, `30m`."
            ),
        )
    )

    @property
    def answer_within_seconds(self) -> float:
        return duration_seconds(self.answer_within)


class Quality(ApiModel):
    """What the quality figures count, and the survey behind CSAT and NPS."""

    first_contact_resolution_window: Annotated[
        Duration, duration_at_least("1m", "quality.firstContactResolutionWindow")
    ] = Field(
        "24h",
        description=(
            "A resolved contact was not resolved at first contact when its customer (the same "
            "customer id, on any channel) starts another within this long of its end; it is "
            "counted in switchboard_repeat_contacts_total. Guests (no customer id) are never "
            "counted. At least 1m. Format: a duration such as `24h`, `72h`. Changing it "
            "restarts the gateways."
        ),
    )
    short_abandon_seconds: Annotated[
        int,
        Rule(
            f"self in {list(SHORT_ABANDON_BOUNDS)}",
            "quality.shortAbandonSeconds must be one of "
            f"{', '.join(map(str, SHORT_ABANDON_BOUNDS))}: a bucket bound of "
            "switchboard_abandon_wait_seconds",
            lambda seconds: seconds in SHORT_ABANDON_BOUNDS,
        ),
    ] = Field(
        5,
        description=(
            "Customers who abandon within this many seconds (hung up at once, or by mistake) "
            "are left out of the offered contacts in status.quality.serviceLevelWithoutShort"
            "Abandons. One of 1, 2, 5, 10, 15, 20, 30."
        ),
    )
    survey: Survey = defaulted(
        Survey,
        "The CSAT (and NPS) survey on resolve. Off by default. Changing it restarts the agent "
        "workspace.",
    )
