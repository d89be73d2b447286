"""What the forecast says to size for: the arrivals expected from the slot in progress until
capacity asked for now is ready, and the rate to size for from them.

The operator's autoscaler and the simulator's `switchboard` policy both go this way, so the twin
sizes exactly as the operator does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from switchboard.sizing.forecast import Forecast, forecast_arrivals


def slots_until_ready(
    elapsed_seconds: float, lead_seconds: float, slot_seconds: float, day_slots: int
) -> range:
    """The slots from the one in progress, `elapsed_seconds` after the day's first began, to
    the one in which capacity asked for now is ready, `lead_seconds` later; empty outside the
    day. They stop at the day's last slot: past it, the history's profile would start again
    at the morning of the day it was taken for, not of the next."""
    current = math.floor(elapsed_seconds / slot_seconds + 1e-9)
    if not 0 <= current < day_slots:
        return range(0)
    ready = math.floor((elapsed_seconds + lead_seconds) / slot_seconds)
    return range(current, min(ready, day_slots - 1) + 1)


def forecast_slots(
    past_days: Sequence[Sequence[float]], today: Sequence[float], slots: range
) -> Forecast | None:
    """Arrivals forecast for `slots` (of `slots_until_ready`) from the past days' profile and
    `today`'s counts from the day's first slot up to the first one not observed; the slots
    between those counts and `slots` are forecast too, then skipped. None without past days."""
    if not past_days or not slots:
        return None
    skipped = slots.start - len(today)
    full = forecast_arrivals(past_days, today, skipped + len(slots))
    return Forecast(mean=full.mean[skipped:], stddev=full.stddev[skipped:])


def rate_to_size_for(
    forecast: Forecast | None, quantile: float, slot_seconds: float
) -> float | None:
    """Arrivals per second to size for: the busiest of the forecast's slots at `quantile`
    (0.5: the expected count; higher buys safety against surprise peaks)."""
    if forecast is None or not forecast.mean:
        return None
    return max(forecast.quantile(quantile)) / slot_seconds
