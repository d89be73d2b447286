"""The arrival forecast: profile, level, fallbacks, and honest uncertainty on simulated traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from switchboard.sizing.forecast import Forecast, forecast_arrivals

SLOTS = 96
# A business day: a morning ramp to a plateau, a lunch dip, an afternoon decline.
PROFILE = [
    40 + 160 * min(1.0, slot / 24) - 40 * math.exp(-(((slot - 50) / 6) ** 2)) - slot * 0.8
    for slot in range(SLOTS)
]


def _days(levels: tuple[float, ...] = (0.9, 1.0, 1.1, 0.95, 1.05)) -> list[list[float]]:
    """Past days: the profile at a different volume each day, as real days are."""
    return [[level * rate for rate in PROFILE] for level in levels]


def test_before_the_day_starts_the_forecast_is_the_profile() -> None:
    forecast = forecast_arrivals(_days(), [], horizon=30)
    assert forecast.mean == pytest.approx(PROFILE[:30], rel=0.01)
    assert forecast.mean[29] > 2 * forecast.mean[0]  # ready for the morning ramp


def test_a_busier_day_scales_the_rest_of_the_profile() -> None:
    """Most of the way: the prior of a typical day keeps some pull, as it should for days that
    strayed no more than these past ones did (the autoscaler sizes from the measured rate too)."""
    today = [1.3 * rate for rate in PROFILE[:40]]
    forecast = forecast_arrivals(_days(), today, horizon=12)
    levels = [mean / rate for mean, rate in zip(forecast.mean, PROFILE[40:52], strict=True)]
    assert all(1.2 < level < 1.3 for level in levels)


def test_a_slight_departure_is_shrunk_toward_a_typical_day() -> None:
    today = [1.05 * rate for rate in PROFILE[:2]]
    level = forecast_arrivals(_days(), today, horizon=1).mean[0] / PROFILE[2]
    assert 1.0 < level < 1.05


def test_a_sudden_surge_is_followed_at_once() -> None:
    surge = [*PROFILE[:30], *(3 * rate for rate in PROFILE[30:34])]
    after_one_slot = forecast_arrivals(_days(), surge[:31], horizon=1).mean[0] / PROFILE[31]
    assert after_one_slot > 1.9  # the slow level alone would say about 1.3
    after_four_slots = forecast_arrivals(_days(), surge, horizon=3)
    assert after_four_slots.mean == pytest.approx([3 * rate for rate in PROFILE[34:37]], rel=0.1)


def test_a_lone_outlying_slot_is_not_taken_for_a_break() -> None:
    """8 standard deviations of Poisson noise in one slot (real counts stray more than Poisson):
    the level moves a little, where a restart would take the slot's 1.6x for the level."""
    today = [*PROFILE[:29], PROFILE[29] + 8 * math.sqrt(PROFILE[29])]
    level = forecast_arrivals(_days(), today, horizon=1).mean[0] / PROFILE[30]
    assert 1.0 < level < 1.1


def test_the_same_weekday_history_is_averaged() -> None:
    assert forecast_arrivals(_days((0.9, 1.1)), [], horizon=5).mean == pytest.approx(
        PROFILE[:5], rel=0.01
    )


def test_the_horizon_runs_into_the_next_day() -> None:
    forecast = forecast_arrivals(_days(), PROFILE[:-2], horizon=4)
    assert forecast.mean[2:] == pytest.approx(PROFILE[:2], rel=0.02)


def test_without_history_the_last_count_persists() -> None:
    forecast = forecast_arrivals([], [10.0, 12.0, 11.0, 15.0], horizon=3)
    assert forecast.mean == (15.0, 15.0, 15.0)
    assert all(spread > 0 for spread in forecast.stddev)
    nothing = forecast_arrivals([], [], horizon=2)
    assert (nothing.mean, nothing.stddev) == ((0.0, 0.0), (0.0, 0.0))


def test_no_history_of_arrivals_falls_back_to_persistence() -> None:
    assert forecast_arrivals([[0.0] * 4] * 3, [0.0, 2.0], horizon=1).mean == (2.0,)


def test_spread_includes_poisson_noise_and_quantiles_order() -> None:
    forecast = forecast_arrivals(_days(), PROFILE[:20], horizon=10)
    assert all(s >= math.sqrt(m) for m, s in zip(forecast.mean, forecast.stddev, strict=True))
    median, high = forecast.quantile(0.5), forecast.quantile(0.95)
    assert median == pytest.approx(forecast.mean)
    assert all(h > m for h, m in zip(high, median, strict=True))
    assert Forecast(mean=(1.0,), stddev=(5.0,)).quantile(0.05) == (0.0,)


def test_the_90_percent_quantile_covers_simulated_traffic() -> None:
    """Poisson counts around a profile with a random level per day and a wandering intraday
    level: about 90% of the counts must stay at or below the 90% quantile."""
    rng = np.random.default_rng(11)

    def day() -> list[float]:
        wander = np.cumsum(rng.normal(0, 0.01, SLOTS))
        rates = np.array(PROFILE) * rng.normal(1.0, 0.06) * np.exp(wander - wander.mean())
        return [float(count) for count in rng.poisson(rates)]

    history = [day() for _ in range(15)]
    covered = total = 0
    errors = 0.0
    for _ in range(12):
        today = day()
        for seen in range(0, SLOTS - 6, 3):
            forecast = forecast_arrivals(history, today[:seen], horizon=6)
            actual = today[seen + 5]
            covered += actual <= forecast.quantile(0.9)[5]
            errors += abs(forecast.mean[5] - actual) / actual
            total += 1
    assert 0.85 <= covered / total <= 0.95
    assert errors / total < 0.15


@pytest.mark.parametrize(
    ("past", "today", "horizon"),
    [
        ([[1.0, 2.0]], [-1.0], 1),
        ([[1.0, math.nan]], [], 1),
        ([[1.0, 2.0], [1.0]], [], 1),
        ([[1.0, 2.0]], [1.0, 2.0, 3.0], 1),
        ([[1.0, 2.0]], [], -1),
    ],
)
def test_invalid_input_is_rejected(
    past: list[list[float]], today: list[float], horizon: int
) -> None:
    with pytest.raises(ValueError):
        forecast_arrivals(past, today, horizon)


def test_quantile_must_be_a_probability() -> None:
    with pytest.raises(ValueError):
        Forecast(mean=(1.0,), stddev=(1.0,)).quantile(1.0)
