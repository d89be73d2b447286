"""The contract's escalation families: handoffs by reason, and customer sentiment in buckets
that split at the VADER authors' cutoffs."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from switchboard.contract import ContractMetrics


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, {"contact_center": "acme", **labels}) or 0.0


def test_handoffs_are_counted_by_channel_and_reason() -> None:
    registry = CollectorRegistry()
    metrics = ContractMetrics("acme", registry)
    metrics.bot_handoff("web", "negative_sentiment")
    metrics.bot_handoff("web", "negative_sentiment")
    metrics.bot_handoff("phone", "low_confidence")
    name = "switchboard_bot_handoffs_total"
    assert sample(registry, name, channel="web", reason="negative_sentiment") == 2
    assert sample(registry, name, channel="phone", reason="low_confidence") == 1
    assert sample(registry, name, channel="web", reason="low_confidence") == 0


def test_sentiment_buckets_cover_the_score_and_count_negative_messages_in_one() -> None:
    registry = CollectorRegistry()
    metrics = ContractMetrics("acme", registry)
    for score in (-1.0, -0.5461, -0.05, 0.0, 0.04, 0.4404, 1.0):
        metrics.customer_sentiment("web", score)

    def at_most(bound: str) -> float:
        return sample(registry, "switchboard_customer_sentiment_bucket", channel="web", le=bound)

    assert at_most("-0.8") == 1  # -1, the lowest score there is
    assert at_most("-0.05") == 3  # the negative ones: -0.05 or less
    assert at_most("0.05") - at_most("-0.05") == 2  # the neutral ones
    assert at_most("1.0") == at_most("+Inf") == 7  # nothing is above 1
