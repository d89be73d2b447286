"""The forecast's part in sizing, as the operator and the simulator both use it."""

import pytest

from switchboard.sizing.forecast import Forecast
from switchboard.sizing.lookahead import forecast_slots, rate_to_size_for, slots_until_ready

SLOT = 300.0
# A ramp: slot j of every past day saw 10 x (j + 1) contacts. Identical days, and a straight
# ramp that smoothing keeps as it is, so a typical day is forecast as exactly the profile.
RAMP = [[10.0 * (j + 1) for j in range(12)] for _ in range(7)]


def test_capacity_asked_for_now_serves_from_the_slot_it_is_ready_in() -> None:
    """New replicas ready 60 s from now: within the current slot until its last minute, in the
    next one after that."""
    assert slots_until_ready(30.0, 60.0, SLOT, 12) == range(0, 1)
    assert slots_until_ready(250.0, 60.0, SLOT, 12) == range(0, 2)
    assert slots_until_ready(1500.0, 0.0, SLOT, 12) == range(5, 6)
    assert slots_until_ready(1500.0, 900.0, SLOT, 12) == range(5, 9)


def test_the_slots_stop_at_the_end_of_the_day() -> None:
    assert slots_until_ready(11 * SLOT + 290.0, 60.0, SLOT, 12) == range(11, 12)
    assert not slots_until_ready(12 * SLOT, 60.0, SLOT, 12)
    assert not slots_until_ready(-30.0, 60.0, SLOT, 12)


def test_a_typical_day_is_forecast_as_its_profile_over_the_slots_ahead() -> None:
    forecast = forecast_slots(RAMP, [10.0, 20.0, 30.0], range(3, 5))
    assert forecast is not None
    assert forecast.mean == pytest.approx((40.0, 50.0))


def test_slots_not_observed_are_forecast_and_skipped() -> None:
    """Today's counts stop at slot 2 (the metrics had a gap): slots 2 to 4 are forecast, the
    result starts at slot 5, the one in progress."""
    forecast = forecast_slots(RAMP, [10.0, 20.0], range(5, 7))
    assert forecast is not None
    assert forecast.mean == pytest.approx((60.0, 70.0))


def test_no_history_no_forecast() -> None:
    assert forecast_slots([], [10.0], range(1, 2)) is None
    assert forecast_slots(RAMP, [10.0], range(0)) is None


def test_the_rate_to_size_for_is_the_busiest_slot_per_second() -> None:
    forecast = Forecast(mean=(60.0, 120.0), stddev=(5.0, 10.0))
    assert rate_to_size_for(forecast, 0.5, slot_seconds=60) == 2.0
    # The 0.9 quantile of the busier slot: 120 + 1.2816 x 10 contacts in 60 s.
    assert rate_to_size_for(forecast, 0.9, slot_seconds=60) == pytest.approx(132.816 / 60, 1e-4)
    assert rate_to_size_for(None, 0.5, slot_seconds=60) is None
