"""Builders of sizing inputs, shared by the tests of what consumes them."""

from __future__ import annotations

from typing import Any

from switchboard.sizing.workloads import Observation

OBSERVED = (
    "arrival_rate",
    "aht_seconds",
    "abandon_rate",
    "service_level",
    "backlog",
    "in_system",
    "patience_seconds",
)


def observation(**values: float) -> Observation:
    """An observation over a 15-minute window with `values`; every other metric missing."""
    fields: dict[str, Any] = dict.fromkeys(OBSERVED) | values
    return Observation(**fields, recent_arrival_rates=(), window_seconds=900.0)
