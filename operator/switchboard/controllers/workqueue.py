"""Which ContactCenters need a reconcile: each key queued at most once and never reconciled
twice at the same time (a key that changes while it is being reconciled runs again after).

Urgent keys (a new or changed spec, a scaling decision) are served before routine ones (what a
child's event, a retry or a wait asks for), so that a storm of child events, such as a fleet
being deleted or a mass rollout, does not keep a new ContactCenter waiting behind it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class WorkQueue(Generic[Key]):
    def __init__(self) -> None:
        self._urgent: deque[Key] = deque()
        self._routine: deque[Key] = deque()
        self._queued: dict[Key, bool] = {}  # key -> urgent
        self._available = asyncio.Semaphore(0)  # one per queued key
        self._active: set[Key] = set()
        self._again: dict[Key, bool] = {}  # changed while active -> urgent
        self._waiting: set[Key] = set()

    def add(self, key: Key, *, urgent: bool = False) -> None:
        if key in self._active:
            self._again[key] = self._again.get(key, False) or urgent
            return
        queued_urgent = self._queued.get(key)
        if queued_urgent is None:
            self._queued[key] = urgent
            (self._urgent if urgent else self._routine).append(key)
            self._available.release()
        elif urgent and not queued_urgent:
            # Moves ahead; its place in the routine lane is passed over when reached.
            self._queued[key] = True
            self._urgent.append(key)

    def add_after(self, key: Key, delay: float) -> None:
        """Adds `key` as routine after `delay`; a key already waiting is not scheduled again,
        so a burst of events becomes one reconcile."""
        if key in self._waiting:
            return
        self._waiting.add(key)
        asyncio.get_running_loop().call_later(delay, self._release, key)

    def _release(self, key: Key) -> None:
        self._waiting.discard(key)
        self.add(key)

    async def get(self) -> Key:
        await self._available.acquire()
        while True:  # a queued key is in one of the lanes, so this ends
            urgent = bool(self._urgent)
            key = (self._urgent if urgent else self._routine).popleft()
            if self._queued.get(key) == urgent:
                break
        del self._queued[key]
        self._active.add(key)
        return key

    def done(self, key: Key) -> None:
        self._active.discard(key)
        if key in self._again:
            self.add(key, urgent=self._again.pop(key))
