"""What a simulated day looked like: per-interval service figures and totals, as text or JSON.

Service level = contacts answered within the threshold / contacts offered (an abandoned contact
counts as missed), abandonment = abandoned / offered; both by the interval the contact arrived in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.simulator.contacts import Contact


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


class IntervalRecorder:
    """An engine observer that counts each contact's fate in the interval it arrived in."""

    def __init__(self, start: float, interval_seconds: float, intervals: int) -> None:
        self.start = start
        self.interval_seconds = interval_seconds
        self.offered_counts = [0] * intervals
        self.within_counts = [0] * intervals
        self.abandoned_counts = [0] * intervals
        self.wait_sums = [0.0] * intervals

    def _index(self, contact: Contact) -> int | None:
        """The interval the contact arrived in; None before the first (during a warm-up)."""
        if contact.arrival_time < self.start:
            return None
        index = int((contact.arrival_time - self.start) // self.interval_seconds)
        return min(index, len(self.offered_counts) - 1)

    def arrived(self, contact: Contact) -> None:
        index = self._index(contact)
        if index is not None:
            self.offered_counts[index] += 1

    def answered(self, contact: Contact, within_target: bool) -> None:
        assert contact.answer_time is not None
        index = self._index(contact)
        if index is not None:
            self.within_counts[index] += within_target
            self.wait_sums[index] += contact.answer_time - contact.arrival_time

    def abandoned(self, contact: Contact, now: float) -> None:
        index = self._index(contact)
        if index is not None:
            self.abandoned_counts[index] += 1
            self.wait_sums[index] += now - contact.arrival_time

    def completed(self, contact: Contact) -> None:
        pass

    def intervals(self, server_seconds_at_boundaries: Sequence[float]) -> list[IntervalStats]:
        """The figures per interval, given the queue's server-seconds counter at each boundary."""
        return [
            IntervalStats(
                start=self.start + index * self.interval_seconds,
                offered=self.offered_counts[index],
                answered_within_target=self.within_counts[index],
                abandoned=self.abandoned_counts[index],
                wait_seconds=self.wait_sums[index],
                server_hours=(later - earlier) / 3600.0,
                mean_servers=(later - earlier) / self.interval_seconds,
            )
            for index, (earlier, later) in enumerate(
                itertools.pairwise(server_seconds_at_boundaries)
            )
        ]


@dataclass(frozen=True)
class DayReport:
    policy: str
    target_service_level: float
    within_seconds: float
    servers_per_replica: int
    intervals: tuple[IntervalStats, ...]
    capacity: tuple[tuple[float, int], ...]  # (time, ready servers) after each decision

    @property
    def offered(self) -> int:
        return sum(interval.offered for interval in self.intervals)

    @property
    def service_level(self) -> float:
        within = sum(interval.answered_within_target for interval in self.intervals)
        return within / self.offered if self.offered else 1.0

    @property
    def abandon_rate(self) -> float:
        abandoned = sum(interval.abandoned for interval in self.intervals)
        return abandoned / self.offered if self.offered else 0.0

    @property
    def replica_hours(self) -> float:
        server_hours = sum(interval.server_hours for interval in self.intervals)
        return server_hours / self.servers_per_replica

    @property
    def sla_intervals_met(self) -> float:
        """Share of intervals with contacts whose service level met the target."""
        levels = [i.service_level for i in self.intervals if i.service_level is not None]
        met = sum(level >= self.target_service_level - 1e-12 for level in levels)
        return met / len(levels) if levels else 1.0

    def totals(self) -> dict[str, float]:
        return {
            "offered": self.offered,
            "service_level": round(self.service_level, 4),
            "abandon_rate": round(self.abandon_rate, 4),
            "sla_intervals_met": round(self.sla_intervals_met, 4),
            "replica_hours": round(self.replica_hours, 2),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "target": {"service_level": self.target_service_level, "within": self.within_seconds},
            "totals": self.totals(),
            "intervals": [
                {
                    "start": clock(interval.start),
                    "offered": interval.offered,
                    "servers": round(interval.mean_servers, 1),
                    "service_level": _rounded(interval.service_level),
                    "abandon_rate": _rounded(interval.abandon_rate),
                    "mean_wait_seconds": _rounded(interval.mean_wait_seconds),
                }
                for interval in self.intervals
            ],
        }

    def to_table(self) -> str:
        rows = [
            f"policy {self.policy}: target {self.target_service_level:.0%} answered within "
            f"{self.within_seconds:g} s",
            f"{'interval':>8} {'offered':>8} {'servers':>8} {'service':>8} {'abandon':>8} "
            f"{'ASA s':>7}",
        ]
        for interval in self.intervals:
            missed = interval.service_level is not None and (
                interval.service_level < self.target_service_level
            )
            rows.append(
                f"{clock(interval.start):>8} {interval.offered:>8} {interval.mean_servers:>8.1f} "
                f"{_percent(interval.service_level):>8} {_percent(interval.abandon_rate):>8} "
                f"{_number(interval.mean_wait_seconds):>7}{'  < target' if missed else ''}"
            )
        rows.append(
            f"{'total':>8} {self.offered:>8} {'':>8} {_percent(self.service_level):>8} "
            f"{_percent(self.abandon_rate):>8}"
        )
        rows.append(
            f"intervals meeting the target: {self.sla_intervals_met:.1%}; "
            f"replica-hours: {self.replica_hours:.1f}"
        )
        return "\n".join(rows)


def clock(seconds: float) -> str:
    """Seconds since midnight as HH:MM."""
    minutes = math.floor(seconds / 60.0 + 1e-9)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
