"""Latency quantiles in constant memory, against the exact quantiles of the same samples."""

import math
import random
import statistics
from fractions import Fraction

import pytest

from switchboard.dataplane.loadgen.latency import Histogram


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quantiles_are_within_the_relative_error_of_the_exact_ones(seed: int) -> None:
    rng = random.Random(seed)
    samples = [rng.lognormvariate(-3.5, 1.2) for _ in range(20000)]
    histogram = Histogram(relative_error=0.01)
    for sample in samples:
        histogram.add(sample)
    ordered = sorted(samples)
    for q in ("0.01", "0.5", "0.9", "0.99", "0.999", "1"):
        # the nearest rank, by its definition, in exact arithmetic
        exact = ordered[math.ceil(Fraction(q) * len(samples)) - 1]
        assert histogram.quantile(float(q)) == pytest.approx(exact, rel=0.0101), q
    assert histogram.count == len(samples)
    assert histogram.mean == pytest.approx(statistics.fmean(samples))


def test_no_durations_no_quantile() -> None:
    assert Histogram().quantile(0.5) is None
    assert Histogram().mean is None


def test_durations_below_a_tenth_of_a_millisecond_count_as_that() -> None:
    histogram = Histogram()
    histogram.add(0.0)
    estimate = histogram.quantile(0.5)
    assert estimate is not None and estimate == pytest.approx(1e-4, rel=0.011)


def test_a_quantile_outside_0_to_1_is_an_error() -> None:
    with pytest.raises(ValueError, match="quantile"):
        Histogram().quantile(1.5)
