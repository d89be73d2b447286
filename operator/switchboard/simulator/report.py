"""What a simulated day looked like: per-interval service figures of each tier and totals, as text
or JSON.

Per tier (docs/metrics.md): service level = contacts answered within the threshold / contacts
offered to the tier (an abandoned contact counts as missed), abandonment = abandoned / offered;
both by the interval the contact reached the tier in (arrival for the bot, handoff for the
agents). The day's abandonment is every contact that left, at either tier, over the contacts that
arrived.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.simulator.engine import Visit
from switchboard.sizing.workloads import WORKLOADS, Workload


@dataclass(frozen=True)
class IntervalStats:
    start: float
    offered: int
    answered_within_target: int
    abandoned: int
    wait_seconds: float
    server_hours: float
    mean_servers: float

    @property
    def service_level(self) -> float | None:
        return self.answered_within_target / self.offered if self.offered else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def mean_wait_seconds(self) -> float | None:
        return self.wait_seconds / self.offered if self.offered else None


class _TierCounts:
    def __init__(self, intervals: int) -> None:
        self.offered = [0] * intervals
        self.answered = [0] * intervals
        self.within = [0] * intervals
        self.abandoned = [0] * intervals
        self.wait_sums = [0.0] * intervals


class IntervalRecorder:
    """An engine observer that counts each visit's fate in the interval it reached its tier."""

    def __init__(self, start: float, interval_seconds: float, intervals: int) -> None:
        self.start = start
        self.interval_seconds = interval_seconds
        self.count = intervals
        self._tiers = {workload: _TierCounts(intervals) for workload in WORKLOADS}

    def index(self, moment: float) -> int | None:
        """The interval holding `moment`; None before the first (during a warm-up)."""
        if moment < self.start:
            return None
        return min(int((moment - self.start) // self.interval_seconds), self.count - 1)

    def offered(self, visit: Visit) -> None:
        index = self.index(visit.offered_at)
        if index is not None:
            self._tiers[visit.workload].offered[index] += 1

    def answered(self, visit: Visit, within_target: bool) -> None:
        assert visit.answered_at is not None
        index = self.index(visit.offered_at)
        if index is not None:
            counts = self._tiers[visit.workload]
            counts.answered[index] += 1
            counts.within[index] += within_target
            counts.wait_sums[index] += visit.answered_at - visit.offered_at

    def abandoned(self, visit: Visit, now: float) -> None:
        index = self.index(visit.offered_at)
        if index is not None:
            counts = self._tiers[visit.workload]
            counts.abandoned[index] += 1
            counts.wait_sums[index] += now - visit.offered_at

    def completed(self, visit: Visit, now: float) -> None:
        pass

    def unresolved(self, workload: Workload, index: int) -> int:
        """Visits of the interval still waiting for an answer."""
        counts = self._tiers[workload]
        return counts.offered[index] - counts.answered[index] - counts.abandoned[index]

    def stats(self, workload: Workload, index: int, server_seconds: float = 0.0) -> IntervalStats:
        counts = self._tiers[workload]
        return IntervalStats(
            start=self.start + index * self.interval_seconds,
            offered=counts.offered[index],
            answered_within_target=counts.within[index],
            abandoned=counts.abandoned[index],
            wait_seconds=counts.wait_sums[index],
            server_hours=server_seconds / 3600.0,
            mean_servers=server_seconds / self.interval_seconds,
        )

    def intervals(
        self, workload: Workload, server_seconds_at_boundaries: Sequence[float]
    ) -> list[IntervalStats]:
        """The tier's figures per interval, given its server-seconds counter at each
        boundary."""
        return [
            self.stats(workload, index, later - earlier)
            for index, (earlier, later) in enumerate(
                itertools.pairwise(server_seconds_at_boundaries)
            )
        ]


@dataclass(frozen=True)
class TierReport:
    """One tier's day."""

    servers_per_replica: int
    intervals: tuple[IntervalStats, ...]
    capacity: tuple[tuple[float, int], ...]  # (time, ready servers) after each decision

    @property
    def offered(self) -> int:
        return sum(interval.offered for interval in self.intervals)

    @property
    def abandoned(self) -> int:
        return sum(interval.abandoned for interval in self.intervals)

    @property
    def service_level(self) -> float:
        within = sum(interval.answered_within_target for interval in self.intervals)
        return within / self.offered if self.offered else 1.0

    @property
    def replica_hours(self) -> float:
        server_hours = sum(interval.server_hours for interval in self.intervals)
        return server_hours / self.servers_per_replica

    def intervals_met(self, target: float) -> tuple[int, int]:
        """(intervals meeting the target, intervals with contacts)."""
        levels = [i.service_level for i in self.intervals if i.service_level is not None]
        return sum(level >= target - 1e-12 for level in levels), len(levels)


@dataclass(frozen=True)
class DayReport:
    policy: str
    target_service_level: float
    within_seconds: float
    tiers: Mapping[Workload, TierReport]

    @property
    def offered(self) -> int:
        """Contacts that arrived (each meets the bot first)."""
        return self.tiers["bot"].offered

    @property
    def abandon_rate(self) -> float:
        """Contacts that left at either tier, over the contacts that arrived."""
        abandoned = sum(tier.abandoned for tier in self.tiers.values())
        return abandoned / self.offered if self.offered else 0.0

    @property
    def replica_hours(self) -> float:
        return sum(tier.replica_hours for tier in self.tiers.values())

    @property
    def sla_intervals_met(self) -> float:
        """Share of the tiers' intervals with contacts whose service level met the target."""
        met, counted = (
            sum(pair)
            for pair in zip(
                *(t.intervals_met(self.target_service_level) for t in self.tiers.values()),
                strict=True,
            )
        )
        return met / counted if counted else 1.0

    def totals(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "abandon_rate": round(self.abandon_rate, 4),
            "sla_intervals_met": round(self.sla_intervals_met, 4),
            "replica_hours": round(self.replica_hours, 2),
            **{
                workload: {
                    "offered": tier.offered,
                    "service_level": round(tier.service_level, 4),
                    "replica_hours": round(tier.replica_hours, 2),
                }
                for workload, tier in self.tiers.items()
            },
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "target": {"service_level": self.target_service_level, "within": self.within_seconds},
            "totals": self.totals(),
            "intervals": {
                workload: [
                    {
                        "start": clock(interval.start),
                        "offered": interval.offered,
                        "servers": round(interval.mean_servers, 1),
                        "service_level": _rounded(interval.service_level),
                        "abandon_rate": _rounded(interval.abandon_rate),
                        "mean_wait_seconds": _rounded(interval.mean_wait_seconds),
                    }
                    for interval in tier.intervals
                ]
                for workload, tier in self.tiers.items()
            },
        }

    def to_table(self) -> str:
        bot, agents = self.tiers["bot"], self.tiers["agents"]
        rows = [
            f"policy {self.policy}: target {self.target_service_level:.0%} answered within "
            f"{self.within_seconds:g} s at each tier",
            f"{'':>8} {'bot':-^35} {'agents':-^35}",
            f"{'interval':>8} " + " ".join([_TIER_HEADER] * 2),
        ]
        for mine, theirs in zip(bot.intervals, agents.intervals, strict=True):
            rows.append(f"{clock(mine.start):>8} {self._row(mine)} {self._row(theirs)}".rstrip())
        rows.append(
            f"{'total':>8} {bot.offered:>8} {'':>8} {_percent(bot.service_level):>8} "
            f"{'':>9} {agents.offered:>8} {'':>8} {_percent(agents.service_level):>8}"
        )
        rows.append(
            f"intervals meeting the target: {self.sla_intervals_met:.1%}; abandoned: "
            f"{self.abandon_rate:.1%}; replica-hours: {self.replica_hours:.1f} (bot "
            f"{bot.replica_hours:.1f}, agents {agents.replica_hours:.1f})"
        )
        return "\n".join(rows)

    def _row(self, interval: IntervalStats) -> str:
        missed = interval.service_level is not None and (
            interval.service_level < self.target_service_level
        )
        return (
            f"{interval.offered:>8} {interval.mean_servers:>8.1f} "
            f"{_percent(interval.service_level):>8} {_percent(interval.abandon_rate):>8}"
            f"{'<' if missed else ' '}"
        )


_TIER_HEADER = f"{'offered':>8} {'servers':>8} {'service':>8} {'abandon':>8} "


def clock(seconds: float) -> str:
    """Seconds since midnight as HH:MM."""
    minutes = math.floor(seconds / 60.0 + 1e-9)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
