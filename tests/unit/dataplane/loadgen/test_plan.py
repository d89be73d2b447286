"""When customers arrive: the simulator's profile, from a time of day, at a speed."""

import random
import statistics

import pytest

from switchboard.dataplane.loadgen.plan import arrival_offsets, run_seconds
from switchboard.simulator.traffic import HOUR, ArrivalProfile, builtin_profile


def test_arrivals_come_at_the_profiles_rate_times_the_speed() -> None:
    profile = ArrivalProfile(start=9 * HOUR, slot_seconds=HOUR, rates=(0.5, 2.0))
    counts = []
    for seed in range(200):
        offsets = list(
            arrival_offsets(
                profile, random.Random(seed), start=10 * HOUR, speed=60.0, duration=30.0
            )
        )
        assert offsets == sorted(offsets)
        assert all(0 <= offset < 30.0 for offset in offsets)
        counts.append(len(offsets))
    # 30 wall seconds at 60x are 30 minutes of the 10:00 slot: 2/s x 1800 s = 3600 expected
    # (Poisson: the mean of 200 runs within a few standard errors, sqrt(3600 / 200) = 4.2)
    assert statistics.fmean(counts) == pytest.approx(3600, abs=17)


def test_arrivals_stop_where_the_profile_ends() -> None:
    profile = ArrivalProfile(start=0.0, slot_seconds=60.0, rates=(1.0,))
    offsets = list(arrival_offsets(profile, random.Random(1), start=30.0, speed=1.0, duration=1e9))
    assert offsets and max(offsets) < 30.0
    assert run_seconds(profile, start=30.0, speed=2.0) == 15.0


def test_a_built_in_day_starts_quietly() -> None:
    day = builtin_profile("business-day", peak_rate=1.0)
    early = list(arrival_offsets(day, random.Random(2), start=day.start, speed=1, duration=600))
    peak = list(arrival_offsets(day, random.Random(2), start=10 * HOUR, speed=1, duration=600))
    assert len(early) < len(peak) / 3
