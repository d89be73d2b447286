"""The workloads the operator sizes and what the metrics say about each: plain data shared by
the Prometheus queries that observe it, the autoscaler that sizes from it and the status that
shows it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Workload = Literal["bot", "agents"]
WORKLOADS: tuple[Workload, ...] = ("bot", "agents")


@dataclass(frozen=True)
class SkillGroupShare:
    """One spec.routing queue's part of the agents' work, from the contacts agents finished
    over the handle-time window: its share of them and their mean handle time."""

    name: str
    share: float
    aht_seconds: float


# The service level is judged per interval of this length, aligned to the clock (docs/sizing.md).
SERVICE_INTERVAL_SECONDS = 900.0


def interval_elapsed_seconds(now: float, length_seconds: float = SERVICE_INTERVAL_SECONDS) -> float:
    """How long ago the clock-aligned interval under way began; a time on a boundary (up to
    floating-point error) begins one."""
    return now - math.floor(now / length_seconds + 1e-9) * length_seconds


@dataclass(frozen=True)
class IntervalProgress:
    """The service-level interval under way (aligned to the clock): how long it runs, how much
    of it has passed, and the tier's counts since it began: contacts offered, and answered
    within the objective, and abandoned (an abandoned contact is one not answered within)."""

    length_seconds: float
    elapsed_seconds: float
    offered: float
    answered_within: float
    abandoned: float


@dataclass(frozen=True)
class Observation:
    """What the metrics say about one workload's demand now; None where a series is missing
    (or is a ratio of nothing, such as the handle time when nothing completed).

    `arrival_rate` (contacts/s) and the ratios are over `window_seconds`;
    `recent_arrival_rates` are (window seconds, rate) over the shorter windows; the handle
    time is over its own window."""

    arrival_rate: float | None
    recent_arrival_rates: tuple[tuple[float, float | None], ...]
    aht_seconds: float | None
    abandon_rate: float | None
    service_level: float | None
    backlog: float | None
    in_system: float | None
    patience_seconds: float | None
    window_seconds: float
    skill_groups: tuple[SkillGroupShare, ...] = ()
    """The agents' work per routing queue, where spec.routing declares queues (else empty)."""
    interval: IntervalProgress | None = None
    """The service-level interval under way; None at its start or without its counts."""
