"""Arrival traffic: a piecewise-constant rate per slot of the day, built in or read from a trace.

Times are seconds since midnight of the simulated day.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

HOUR = 3600.0
SLOT_SECONDS = 300.0  # built-in profiles use 5-minute slots, like most contact-center reports


@dataclass(frozen=True)
class ArrivalProfile:
    """Poisson arrivals whose rate (contacts per second) is constant within each slot."""

    start: float
    slot_seconds: float
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.rates:
            raise ValueError("an arrival profile needs at least one slot")
        if not self.slot_seconds > 0:
            raise ValueError(f"slot length must be positive, got {self.slot_seconds}")
        if any(not (rate >= 0 and math.isfinite(rate)) for rate in self.rates):
            raise ValueError("arrival rates must be finite and not negative")

    @property
    def end(self) -> float:
        return self.start + self.slot_seconds * len(self.rates)

    def slot_of(self, moment: float) -> int:
        """Index of the slot holding `moment`, clamped to the profile."""
        index = math.floor((moment - self.start) / self.slot_seconds)
        return min(max(index, 0), len(self.rates) - 1)

    def expected_counts(self) -> tuple[float, ...]:
        return tuple(rate * self.slot_seconds for rate in self.rates)

    def with_surge(self, start: float, end: float, factor: float) -> ArrivalProfile:
        """The same day with the rate times `factor` from `start` to `end` (a sudden surge)."""
        rates = tuple(
            rate * factor if start <= self.start + (i + 0.5) * self.slot_seconds < end else rate
            for i, rate in enumerate(self.rates)
        )
        return ArrivalProfile(self.start, self.slot_seconds, rates)

    def arrival_times(self, rng: random.Random) -> Iterator[float]:
        """Arrival instants of a non-homogeneous Poisson process, in order.

        Within a slot the gaps are exponential; at a slot boundary the memoryless property lets
        the draw restart with the next slot's rate.
        """
        for index, rate in enumerate(self.rates):
            slot_start = self.start + index * self.slot_seconds
            slot_end = slot_start + self.slot_seconds
            if rate <= 0:
                continue
            moment = slot_start + rng.expovariate(rate)
            while moment < slot_end:
                yield moment
                moment += rng.expovariate(rate)


def poisson_count(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count, by counting unit-rate exponential gaps (exact, O(mean))."""
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def poisson_history(
    profile: ArrivalProfile, days: int, rng: random.Random
) -> list[tuple[float, ...]]:
    """`days` past days of per-slot counts drawn from the profile (a forecast's history)."""
    expected = profile.expected_counts()
    return [tuple(float(poisson_count(rng, mean)) for mean in expected) for _ in range(days)]


def _shape(knots: Sequence[tuple[float, float]], start: float, end: float) -> tuple[float, ...]:
    """Relative rates per 5-minute slot, linearly interpolated between (hour, level) knots."""
    slots = round((end - start) / SLOT_SECONDS)
    levels = []
    for index in range(slots):
        hour = (start + (index + 0.5) * SLOT_SECONDS) / HOUR
        for (h0, v0), (h1, v1) in itertools.pairwise(knots):
            if h0 <= hour <= h1:
                levels.append(v0 + (v1 - v0) * (hour - h0) / (h1 - h0))
                break
        else:
            levels.append(knots[-1][1] if hour > knots[-1][0] else knots[0][1])
    return tuple(levels)


_BUSINESS_DAY = (
    (7, 0.15), (8, 0.45), (9, 0.85), (10, 1.0), (11, 0.95), (12, 0.8), (13, 0.75),
    (14, 0.9), (15, 0.85), (16, 0.7), (17, 0.55), (18, 0.4), (19, 0.3), (20, 0.2), (21, 0.1),
)  # fmt: skip


def builtin_profile(name: str, peak_rate: float) -> ArrivalProfile:
    """One of `PROFILES`, scaled so that the busiest slot of a normal day has `peak_rate`
    contacts per second. `surge` is the business day with a sudden 3x surge 11:00-12:00."""
    if name == "business-day":
        start, levels = 7 * HOUR, _shape(_BUSINESS_DAY, 7 * HOUR, 21 * HOUR)
    elif name == "surge":
        return builtin_profile("business-day", peak_rate).with_surge(11 * HOUR, 12 * HOUR, 3.0)
    elif name == "morning-ramp":
        knots = ((8, 0.1), (8.5, 0.1), (10, 1.0), (11, 1.0))
        start, levels = 8 * HOUR, _shape(knots, 8 * HOUR, 11 * HOUR)
    elif name == "flat":
        start, levels = 9 * HOUR, _shape(((9, 1.0), (17, 1.0)), 9 * HOUR, 17 * HOUR)
    else:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    top = max(levels)
    return ArrivalProfile(start, SLOT_SECONDS, tuple(peak_rate * level / top for level in levels))


PROFILES = ("business-day", "morning-ramp", "surge", "flat")


def builtin_trace(name: str, peak_rate: float, history_days: int, rng: random.Random) -> Trace:
    """A built-in day and `history_days` past days drawn from it (a surge is not in the past)."""
    normal = "business-day" if name == "surge" else name
    history = poisson_history(builtin_profile(normal, peak_rate), history_days, rng)
    return Trace(builtin_profile(name, peak_rate), tuple(history))


@dataclass(frozen=True)
class Trace:
    """A day of recorded arrivals and, when the file holds earlier days, their counts."""

    day: ArrivalProfile
    history: tuple[tuple[float, ...], ...]


def parse_trace(lines: Iterable[str], scale: float = 1.0) -> Trace:
    """Read a CSV of per-interval arrival counts: header `start,arrivals` (other columns ignored).

    `start` is a time of day (`07:30`, `07:30:00`) or an ISO date-time (`2003-03-03T07:30`).
    Rows are consecutive slots of equal length. With date-times spanning several dates, the last
    date is the simulated day and the earlier ones are its history (for the forecast); each day
    must have the same slots. The slot length is the gap between the first two rows of a day.
    Counts are multiplied by `scale`.
    """
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or not {"start", "arrivals"} <= set(reader.fieldnames):
        raise ValueError("a trace needs a header with the columns start,arrivals")
    days: dict[date | None, list[tuple[float, float]]] = {}
    for line, row in enumerate(reader, start=2):
        moment, count = _parse_row(row, line)
        day, seconds = moment
        days.setdefault(day, []).append((seconds, count * scale))
    if not days:
        raise ValueError("the trace has no rows")
    profiles = [_profile_from_rows(rows) for rows in days.values()]
    today = profiles[-1]
    for earlier in profiles[:-1]:
        if (earlier.start, earlier.slot_seconds, len(earlier.rates)) != (
            today.start,
            today.slot_seconds,
            len(today.rates),
        ):
            raise ValueError("every day of a trace must cover the same slots")
    return Trace(today, tuple(p.expected_counts() for p in profiles[:-1]))


def _parse_row(row: dict[str, str], line: int) -> tuple[tuple[date | None, float], float]:
    start, arrivals = (row.get("start") or "").strip(), (row.get("arrivals") or "").strip()
    try:
        count = float(arrivals)
    except ValueError:
        raise ValueError(f"line {line}: arrivals {arrivals!r} is not a number") from None
    if not (count >= 0 and math.isfinite(count)):
        raise ValueError(f"line {line}: arrivals must not be negative, got {arrivals}")
    try:
        if "T" in start or "-" in start:
            stamp = datetime.fromisoformat(start)
            return (stamp.date(), _seconds(stamp.time())), count
        return (None, _seconds(time.fromisoformat(start))), count
    except ValueError:
        raise ValueError(f"line {line}: start {start!r} is not a time or date-time") from None


def _seconds(moment: time) -> float:
    return moment.hour * HOUR + moment.minute * 60.0 + moment.second


def _profile_from_rows(rows: list[tuple[float, float]]) -> ArrivalProfile:
    if len(rows) < 2:
        raise ValueError("a trace day needs at least two rows to know its slot length")
    slot = rows[1][0] - rows[0][0]
    if slot <= 0:
        raise ValueError("trace rows must be in increasing time order")
    for (earlier, _), (later, _) in itertools.pairwise(rows):
        if not math.isclose(later - earlier, slot):
            raise ValueError("trace rows must be consecutive slots of equal length")
    return ArrivalProfile(rows[0][0], slot, tuple(count / slot for _, count in rows))
