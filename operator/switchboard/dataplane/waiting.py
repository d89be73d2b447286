"""Waiting for an event with a time limit, in a way that a cancellation always ends.

Not `asyncio.wait_for`: before Python 3.12 it swallows a cancellation that comes as the awaited
thing completes, so a loop meant to run until cancelled runs on and a graceful stop waits
forever. `asyncio.timeout` has no such window.
"""

from __future__ import annotations

import asyncio
import contextlib


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Waits up to `seconds` for `event`; whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(seconds, 0)):
            await event.wait()
    return event.is_set()
