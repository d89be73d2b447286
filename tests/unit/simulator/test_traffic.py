"""Arrival profiles, built in and read from traces."""

from __future__ import annotations

import math
import random

import pytest

from switchboard.simulator.traffic import (
    PROFILES,
    ArrivalProfile,
    builtin_profile,
    builtin_trace,
    parse_trace,
    poisson_count,
)


def test_arrivals_follow_each_slot_rate() -> None:
    profile = ArrivalProfile(start=0.0, slot_seconds=3600.0, rates=(0.5, 0.0, 2.0))
    counts = [0, 0, 0]
    for moment in profile.arrival_times(random.Random(1)):
        counts[profile.slot_of(moment)] += 1
    expected = profile.expected_counts()
    assert counts[1] == 0
    for count, mean in zip(counts, expected, strict=True):
        assert abs(count - mean) <= 4 * math.sqrt(mean) + 1


def test_poisson_count_has_poisson_mean_and_variance() -> None:
    rng = random.Random(2)
    draws = [poisson_count(rng, 30.0) for _ in range(4000)]
    mean = sum(draws) / len(draws)
    variance = sum((d - mean) ** 2 for d in draws) / len(draws)
    assert mean == pytest.approx(30.0, rel=0.02)
    assert variance == pytest.approx(30.0, rel=0.1)


@pytest.mark.parametrize("name", [name for name in PROFILES if name != "surge"])
def test_builtin_profiles_peak_at_the_given_rate(name: str) -> None:
    profile = builtin_profile(name, peak_rate=0.7)
    assert max(profile.rates) == pytest.approx(0.7)
    assert min(profile.rates) > 0


def test_the_surge_day_is_a_business_day_tripled_from_eleven_to_noon() -> None:
    normal, surge = builtin_profile("business-day", 0.7), builtin_profile("surge", 0.7)
    for slot, (usual, rate) in enumerate(zip(normal.rates, surge.rates, strict=True)):
        hour = (normal.start + slot * normal.slot_seconds) / 3600
        assert rate == pytest.approx(3 * usual if 11 <= hour < 12 else usual)


def test_history_of_a_surge_day_has_no_surge() -> None:
    trace = builtin_trace("surge", 0.7, history_days=5, rng=random.Random(3))
    eleven = trace.day.slot_of(11.5 * 3600)
    expected = builtin_profile("business-day", 0.7).expected_counts()[eleven]
    assert len(trace.history) == 5
    assert sum(day[eleven] for day in trace.history) / 5 < 1.5 * expected


def test_surge_multiplies_the_rate_within_its_window_only() -> None:
    day = ArrivalProfile(start=0.0, slot_seconds=600.0, rates=(1.0, 1.0, 1.0, 1.0))
    assert day.with_surge(600.0, 1800.0, 3.0).rates == (1.0, 3.0, 3.0, 1.0)


def test_trace_with_times_of_day() -> None:
    trace = parse_trace(["start,arrivals,aht", "07:00,60,200", "07:15,90,210", "07:30,30,190"])
    assert trace.day.start == 7 * 3600
    assert trace.day.slot_seconds == 900
    assert trace.day.rates == pytest.approx((60 / 900, 90 / 900, 30 / 900))
    assert trace.history == ()


def test_trace_earlier_dates_become_history() -> None:
    lines = ["start,arrivals"]
    for day in ("2003-03-03", "2003-03-04", "2003-03-05"):
        lines += [f"{day}T07:00,{10 + int(day[-1])}", f"{day}T07:05,20"]
    trace = parse_trace(lines, scale=0.5)
    assert trace.day.rates == pytest.approx((7.5 / 300, 10 / 300))
    assert trace.history == ((6.5, 10.0), (7.0, 10.0))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["when,count", "07:00,1"], "header"),
        (["start,arrivals", "07:00,-1", "07:05,1"], "negative"),
        (["start,arrivals", "07:00,many", "07:05,1"], "not a number"),
        (["start,arrivals", "seven,1", "07:05,1"], "not a time"),
        (["start,arrivals", "07:00,1", "07:05,1", "07:15,1"], "equal length"),
        (["start,arrivals", "07:00,1"], "two rows"),
        (["start,arrivals"], "no rows"),
        (
            [
                "start,arrivals",
                "2003-03-03T07:00,1",
                "2003-03-03T07:05,1",
                "2003-03-04T08:00,1",
                "2003-03-04T08:05,1",
            ],
            "same slots",
        ),
    ],
)
def test_bad_traces_are_rejected_with_a_reason(lines: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_trace(lines)
