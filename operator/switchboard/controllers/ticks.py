"""The loops that look at every ContactCenter each second (the autoscaler, the rollouts, the
quality figures): each starts its own work for a ContactCenter when that is due, never two at
once for one, and forgets what it kept of ContactCenters that are gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from switchboard.controllers.caches import Caches, Key

TICK_SECONDS = 1.0

Work = Coroutine[Any, Any, None]


async def tick_every_contact_center(
    caches: Caches,
    due_work: Callable[[Key, dict[str, Any], float], Work | None],
    kept: Callable[[], Iterable[Key]],
    forget: Callable[[Key], None],
) -> None:
    """Every second: for each ContactCenter whose last work has finished, the work
    `due_work(key, body, now)` says is due now (None: nothing yet); then `forget` each key of
    `kept()` whose ContactCenter is gone."""
    running: dict[Key, asyncio.Task[None]] = {}
    while True:
        now = time.monotonic()
        for key, body in list(caches.contact_centers.items()):
            if key in running and not running[key].done():
                continue
            work = due_work(key, body, now)
            if work is not None:
                running[key] = asyncio.create_task(work)
        for key in [k for k in kept() if k not in caches.contact_centers]:
            forget(key)
            running.pop(key, None)
        await asyncio.sleep(TICK_SECONDS)
