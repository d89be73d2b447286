"""Short-horizon arrival forecast: the intraday profile of recent days, scaled by today's level.

Contact-center traffic repeats its daily shape (the morning ramp, the lunch dip) far better than
its daily volume, so the forecast is

    expected arrivals in slot j = level x profile[j]

where `profile` is the mean count of slot j over the past days given (pass the same weekday's
recent days where weekdays differ), lightly smoothed across neighbouring slots, and `level` is how
busy today is compared with that profile. The level is a Gamma-Poisson estimate: a prior of 1
(today is a typical day) weighted by how little past days strayed from the profile, updated with
today's counts against the profile, recent slots counting more (a half-life of a few slots); a
break that the last slot makes plain (a surge, an early closing) takes over at once. Before the
first slot of the day the forecast is the profile itself, so capacity is ready for the morning
ramp.

The predictive spread adds Poisson noise, the uncertainty of the level, and how much past days'
shapes strayed from the profile; `Forecast.quantile` turns it into a demand to size for when the
service target is strict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean, pvariance

# Half-life, in slots, of today's counts in the level: 7 five-minute slots average out the Poisson
# noise of single slots and still follow a drift within the hour; a break (below) follows a
# surge at once. Chosen with the break threshold on fpp2/calls' tuning days, before the test
# days (`python -m bench.forecast --days tuning`; docs/sizing.md has the sweep).
LEVEL_HALF_LIFE_SLOTS = 7.0
# A break in the level is judged on the last slot or two (half-life 1 slot) and must stand out by
# this many standard deviations: rare by chance (at 4, false breaks cost more than real ones
# gained on the tuning days), certain for a 3x surge or a closing.
BREAK_HALF_LIFE_SLOTS = 1.0
BREAK_THRESHOLD = 6.0
# The least variance of the level assumed when past days cannot show it (a single day,
# identical days): a 5% standard deviation, i.e. a prior worth at most 400 expected contacts.
MIN_LEVEL_VARIANCE = 0.05**2


@dataclass(frozen=True)
class Forecast:
    """Arrivals per future slot: the expectation and its predictive standard deviation."""

    mean: tuple[float, ...]
    stddev: tuple[float, ...]  # includes Poisson noise

    def quantile(self, q: float) -> tuple[float, ...]:
        """The q-quantile of each slot's arrivals (normal approximation, never below zero)."""
        if not 0 < q < 1:
            raise ValueError(f"quantile must be in (0, 1), got {q}")
        z = NormalDist().inv_cdf(q)
        return tuple(max(0.0, m + z * s) for m, s in zip(self.mean, self.stddev, strict=True))


def forecast_arrivals(
    past_days: Sequence[Sequence[float]], today: Sequence[float], horizon: int
) -> Forecast:
    """Arrivals in the `horizon` slots after `today`'s last one.

    `past_days`: earlier days, oldest first, each a full day of per-slot counts with the same slot
    length; `today`: the counts of today's slots so far. Slots past the end of the day continue
    with the next day's profile. Without past days the forecast is persistence (the last count).
    """
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")
    for counts in (*past_days, today):
        _check_counts(counts)
    slots = len(past_days[0]) if past_days else 0
    if any(len(day) != slots for day in past_days):
        raise ValueError("past days must all have the same number of slots")
    if past_days and len(today) > slots:
        raise ValueError(f"today has {len(today)} slots, more than a day's {slots}")
    profile = _smoothed([fmean(column) for column in zip(*past_days, strict=True)])
    if sum(profile) == 0:  # no past days, or nothing ever arrived in them
        return _persistence(today, horizon)
    levels = [sum(day) / sum(profile) for day in past_days]
    shape_variance = _shape_variance(past_days, profile, levels)
    level, level_variance = _level(today, profile, pvariance(levels), shape_variance)
    relative_variance = level_variance + shape_variance
    means = tuple(level * profile[(len(today) + ahead) % slots] for ahead in range(horizon))
    return Forecast(
        mean=means,
        stddev=tuple(math.sqrt(m + m * m * relative_variance) for m in means),
    )


def _check_counts(counts: Sequence[float]) -> None:
    if not all(math.isfinite(count) and count >= 0 for count in counts):
        raise ValueError("arrival counts must be finite numbers >= 0")


def _smoothed(profile: list[float]) -> list[float]:
    """(1, 2, 1)/4 across neighbouring slots: halves the noise of the mean of few days while
    keeping ramps, which are locally straight, where they are. The first and last slots have one
    neighbour only and stay as they are."""
    inner = [
        (profile[i - 1] + 2 * profile[i] + profile[i + 1]) / 4 for i in range(1, len(profile) - 1)
    ]
    return profile[:1] + inner + profile[-1:] if len(profile) > 1 else profile


def _level(
    today: Sequence[float],
    profile: Sequence[float],
    day_level_variance: float,
    shape_variance: float,
) -> tuple[float, float]:
    """Today's level against the profile and its relative variance.

    The prior says "a typical day": mean 1, with the variance of the level right now, i.e. how
    far whole days strayed plus how far a day strays from its own level within the day. Its
    weight, 1/variance, counts in expected contacts next to today's discounted counts.

    A break (a surge, an early closing, the end of a surge) shows as the last slot or two lying
    far outside what the slower estimate allows. From there on the day is plainly not typical:
    the prior and every slot before the last one are forgotten, and the level is estimated from
    the slots since the break only, so it neither lags behind the break nor carries it on
    afterwards.
    """
    slow_keep = 0.5 ** (1.0 / LEVEL_HALF_LIFE_SLOTS)
    fast_keep = 0.5 ** (1.0 / BREAK_HALF_LIFE_SLOTS)
    prior_weight = 1.0 / max(day_level_variance + shape_variance, MIN_LEVEL_VARIANCE)
    observed = expected = recent_observed = recent_expected = 0.0
    for count, typical in zip(today, profile, strict=False):
        observed, expected = observed * slow_keep + count, expected * slow_keep + typical
        recent_observed = recent_observed * fast_keep + count
        recent_expected = recent_expected * fast_keep + typical
        if recent_expected <= 0:
            continue
        level = (prior_weight + observed) / (prior_weight + expected)
        noise = math.sqrt(level / recent_expected + shape_variance * level * level)
        if abs(recent_observed / recent_expected - level) > BREAK_THRESHOLD * noise:
            prior_weight, observed, expected = 0.0, count, typical
            recent_observed, recent_expected = count, typical
    if prior_weight + expected <= 0:
        return 1.0, 1.0 / max(prior_weight, 1.0)
    level = (prior_weight + observed) / (prior_weight + expected)
    # Gamma posterior: variance / mean^2 = 1/shape
    return level, 1.0 / max(prior_weight + observed, 1.0)


def _shape_variance(
    past_days: Sequence[Sequence[float]], profile: Sequence[float], levels: Sequence[float]
) -> float:
    """Relative variance of a slot around level x profile on past days, beyond Poisson noise."""
    excess = [
        ((count - level * typical) ** 2 - level * typical) / (level * typical) ** 2
        for day, level in zip(past_days, levels, strict=True)
        for count, typical in zip(day, profile, strict=True)
        if level * typical > 0
    ]
    return max(0.0, fmean(excess)) if excess else 0.0


def _persistence(today: Sequence[float], horizon: int) -> Forecast:
    """The last count for every future slot; its spread at lag k is today's own mean squared
    change over k slots (Poisson noise alone until today has that many)."""
    last = today[-1] if today else 0.0
    stddev = []
    for lag in range(1, horizon + 1):
        changes = [
            (later - earlier) ** 2 for earlier, later in zip(today, today[lag:], strict=False)
        ]
        stddev.append(math.sqrt(fmean(changes) if changes else last))
    return Forecast(mean=(last,) * horizon, stddev=tuple(stddev))
