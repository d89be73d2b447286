"""The loops that look at every ContactCenter each second (the autoscaler, the rollouts, the
quality figures): each starts its own work for a ContactCenter when that is due, never two at
once for one, and forgets what it kept of ContactCenters that are gone. A look must be cheap
(a fleet is thousands of ContactCenters a second): what it derives from a body is kept until
the body changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from pydantic import ValidationError

from switchboard.api.contactcenter import ContactCenter
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


def valid_spec(body: dict[str, Any]) -> ContactCenter | None:
    """The ContactCenter of `body`, or None when its spec is invalid (the reconcile says so)."""
    try:
        return ContactCenter.model_validate(body)
    except ValidationError:
        return None


class SpecsByGeneration:
    """Each ContactCenter validated once per generation of its spec (what a loop reads of it
    is its spec; its metadata and status are as of that generation's first look)."""

    def __init__(self) -> None:
        self._known: dict[Key, tuple[int | None, ContactCenter | None]] = {}

    def of(self, key: Key, body: dict[str, Any]) -> ContactCenter | None:
        generation = body["metadata"].get("generation")
        known = self._known.get(key)
        if known is None or known[0] != generation:
            known = self._known[key] = (generation, valid_spec(body))
        return known[1]

    def keys(self) -> list[Key]:
        return list(self._known)

    def forget(self, key: Key) -> None:
        self._known.pop(key, None)
