"""Latency quantiles over a long run in constant memory (pure): durations counted in buckets
whose bounds grow by a fixed ratio, so a quantile is known within that ratio whatever the scale
(the idea of HdrHistogram and DDSketch)."""

from __future__ import annotations

import math
from collections import Counter

SMALLEST_SECONDS = 1e-4
"""Shorter durations count as this (a tenth of a millisecond is below what a run resolves)."""


class Histogram:
    def __init__(self, relative_error: float = 0.01) -> None:
        if not 0 < relative_error < 1:
            raise ValueError(f"relative error must be in (0, 1), got {relative_error}")
        # Bucket i holds (low * r^i, low * r^(i+1)]; its geometric middle is within
        # sqrt(r) - 1 of every value in it.
        self._ratio = (1 + relative_error) ** 2
        self._log_ratio = math.log(self._ratio)
        self._buckets: Counter[int] = Counter()
        self.count = 0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        value = max(seconds, SMALLEST_SECONDS)
        index = math.ceil(math.log(value / SMALLEST_SECONDS) / self._log_ratio - 1e-9)
        self._buckets[index] += 1
        self.count += 1
        self.total += seconds

    def quantile(self, q: float) -> float | None:
        """The q-quantile (the nearest rank: the smallest value with at least q of the
        durations at or below it), within the relative error; None without durations."""
        if not 0 <= q <= 1:
            raise ValueError(f"a quantile is in [0, 1], got {q}")
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count - 1e-9))  # 0.999 * 20000 is 19980.000000000004
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                return SMALLEST_SECONDS * math.pow(self._ratio, index - 0.5)
        raise AssertionError("the buckets hold fewer durations than counted")

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None
