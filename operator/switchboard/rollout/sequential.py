"""An always-valid sequential test for proportions (docs/rollouts.md, "The test").

The statistic is the one-sided normal-mixture likelihood ratio (Robbins 1970; the mSPRT of
Johari, Pekelis and Walsh 2017) on a Gaussian approximation: for an estimate `theta_hat` of a
proportion, or of a difference of two, with variance `V`, and a null value `theta_0`, the
likelihood ratio of "the true value is `theta_0 + u`" against "it is `theta_0`", mixed over
`u` drawn from a half-normal of scale `tau` on the alternative's side, is

    E = 2 sqrt(V / (V + tau^2)) exp(tau^2 s^2 / (2 V (V + tau^2))) Phi(-s tau / sqrt(V (V + tau^2)))

with `s = theta_hat - theta_0` (for the alternative below; `-s` for above). Under any true value
on the null's side, E over a growing sample is (asymptotically) a non-negative supermartingale
with E_0 = 1, so by Ville's inequality P(E ever reaches 1/alpha) <= alpha, however often it is
looked at. Stopping at the first look where E >= 1/alpha is the test.

Two details keep the Gaussian approximation honest at the small and skewed counts a canary has
(each checked by simulation in tests/unit/rollout/test_sequential.py):

- every proportion is estimated with one pseudo-event and one pseudo-non-event added to its
  counts (Agresti and Coull 1998; Agresti and Caffo 2000), so no count of 0 or of all makes the
  variance 0;
- the variance is the larger of the plug-in one (at the estimates) and the one at the null
  (at the maximum-likelihood proportions constrained to the null value, as Farrington and
  Manning 1990 do for a difference). For a rare event, the plug-in variance is too small when
  few events happened and the null one is too small when a burst happened; the larger of the
  two is never the small one, and both agree as the counts grow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Side = Literal["below", "above"]
"""Where the alternative lies with respect to the null value."""

PSEUDO_COUNT = 1.0
_LOG_HALF_SQRT_TWO_PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Counts:
    """Outcomes of one model version: `events` of `total` (fractional counts are fine: they come
    from Prometheus' increase())."""

    events: float
    total: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.events) and math.isfinite(self.total)):
            raise ValueError(f"counts must be finite, got {self.events} of {self.total}")
        if not 0 <= self.events <= self.total:
            raise ValueError(
                f"events must lie between 0 and the total: {self.events} of {self.total}"
            )

    @property
    def rate(self) -> float | None:
        """The observed share, or None without outcomes."""
        return self.events / self.total if self.total > 0 else None

    @property
    def adjusted(self) -> float:
        """The share with one pseudo-event and one pseudo-non-event."""
        return (self.events + PSEUDO_COUNT) / (self.total + 2 * PSEUDO_COUNT)

    @property
    def adjusted_total(self) -> float:
        return self.total + 2 * PSEUDO_COUNT


def log_normal_cdf(x: float) -> float:
    """log Phi(x), accurate far into the lower tail."""
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2.0)))
    # Asymptotic series of Mills' ratio: Phi(x) ~ phi(x) / -x * (1 - 1/x^2 + 3/x^4).
    inverse = 1.0 / (x * x)
    return (
        -0.5 * x * x - math.log(-x) - _LOG_HALF_SQRT_TWO_PI + math.log1p(-inverse + 3 * inverse**2)
    )


def mixture_log_e(difference: float, variance: float, scale: float, side: Side) -> float:
    """log E of the one-sided normal mixture, for `difference` = estimate - null value."""
    if not (variance > 0 and scale > 0):
        raise ValueError(f"variance and scale must be positive, got {variance} and {scale}")
    toward = -difference if side == "below" else difference
    spread = variance + scale * scale
    return (
        0.5 * math.log(variance / spread)
        + scale * scale * difference * difference / (2 * variance * spread)
        + math.log(2.0)
        + log_normal_cdf(toward * scale / math.sqrt(variance * spread))
    )


def restricted_rates(canary: Counts, stable: Counts, difference: float) -> tuple[float, float]:
    """The (canary, stable) proportions of greatest likelihood given canary - stable =
    `difference`, from the adjusted counts: the root of a cubic in closed form (Farrington and
    Manning 1990, after Miettinen and Nurminen 1985)."""
    if not -1 <= difference <= 1:
        raise ValueError(f"a difference of proportions lies in [-1, 1], got {difference}")
    if abs(difference) == 1:  # a single point: (1, 0) or (0, 1)
        return (difference + 1) / 2, (1 - difference) / 2
    p_c, p_s, d = canary.adjusted, stable.adjusted, difference
    ratio = stable.adjusted_total / canary.adjusted_total
    a = 1 + ratio
    b = -(1 + ratio + p_c + ratio * p_s + d * (ratio + 2))
    c = d * d + d * (2 * p_c + ratio + 1) + p_c + ratio * p_s
    e = -p_c * d * (1 + d)
    v = b**3 / (27 * a**3) - b * c / (6 * a * a) + e / (2 * a)
    u = math.copysign(math.sqrt(max(b * b / (9 * a * a) - c / (3 * a), 0.0)), v)
    cosine = 0.0 if u == 0 else math.cos((math.pi + math.acos(min(1.0, max(-1.0, v / u**3)))) / 3)
    rate_c = 2 * u * cosine - b / (3 * a)
    return rate_c, rate_c - d


def _binomial_variance(rate: float, total: float) -> float:
    return rate * (1 - rate) / total


def difference_log_e(
    canary: Counts, stable: Counts, null: float, scale: float, side: Side
) -> float:
    """log E against "canary rate - stable rate is `null` or on the other side of it than
    `side`", from the counts so far."""
    estimate = canary.adjusted - stable.adjusted
    plug_in = _binomial_variance(canary.adjusted, canary.adjusted_total) + _binomial_variance(
        stable.adjusted, stable.adjusted_total
    )
    at_null_c, at_null_s = restricted_rates(canary, stable, null)
    at_null = _binomial_variance(at_null_c, canary.adjusted_total) + _binomial_variance(
        at_null_s, stable.adjusted_total
    )
    return mixture_log_e(estimate - null, max(plug_in, at_null), scale, side)


def rate_log_e(counts: Counts, null: float, scale: float, side: Side) -> float:
    """log E against "the rate is `null` or on the other side of it than `side`"."""
    if not 0 <= null <= 1:
        raise ValueError(f"a proportion lies in [0, 1], got {null}")
    total = counts.adjusted_total
    variance = max(_binomial_variance(counts.adjusted, total), _binomial_variance(null, total))
    return mixture_log_e(counts.adjusted - null, variance, scale, side)
