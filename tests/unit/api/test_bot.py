"""spec.bot.handoff: the settings of a channel are the default's with its overrides."""

from __future__ import annotations

from switchboard.api.bot import Handoff

HANDOFF = Handoff.model_validate(
    {
        "confidenceThreshold": 0.5,
        "sentimentThreshold": -0.6,
        "channels": [
            {"name": "phone", "sentimentThreshold": -0.3, "clarify": True},
            {"name": "partners", "maxFailedTurns": 4},
        ],
    }
)


def test_a_channel_takes_what_its_override_sets_and_the_rest_from_the_default() -> None:
    phone = HANDOFF.for_channel("phone")
    assert (phone.sentiment_threshold, phone.clarify) == (-0.3, True)
    assert (phone.confidence_threshold, phone.max_failed_turns) == (0.5, 2)
    partners = HANDOFF.for_channel("partners")
    assert (partners.max_failed_turns, partners.sentiment_threshold, partners.clarify) == (
        4,
        -0.6,
        False,
    )


def test_a_channel_without_an_override_has_the_default() -> None:
    web = HANDOFF.for_channel("web")
    assert web == HANDOFF.model_copy(update={"channels": []})
    assert web.channels == []


def test_by_default_neither_sentiment_nor_clarification_changes_what_the_bot_does() -> None:
    # An upgrade leaves a contact center that sets none of them as it was.
    default = Handoff()
    assert (default.sentiment_threshold, default.sentiment_drop, default.clarify) == (
        -1.0,
        2.0,
        False,
    )
