"""Which ContactCenters need a reconcile: each key queued at most once and never reconciled
twice at the same time (a key that changes while it is being reconciled runs again after)."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class WorkQueue(Generic[Key]):
    def __init__(self) -> None:
        self._ready: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._active: set[Key] = set()
        self._again: set[Key] = set()
        self._waiting: set[Key] = set()

    def add(self, key: Key) -> None:
        if key in self._active:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.put_nowait(key)

    def add_after(self, key: Key, delay: float) -> None:
        """Adds `key` after `delay`; a key already waiting is not scheduled again, so a burst
        of events becomes one reconcile."""
        if key in self._waiting:
            return
        self._waiting.add(key)
        asyncio.get_running_loop().call_later(delay, self._release, key)

    def _release(self, key: Key) -> None:
        self._waiting.discard(key)
        self.add(key)

    def depth(self) -> int:
        """Keys queued and not yet taken by a worker (those waiting out a delay aside)."""
        return len(self._queued)

    async def get(self) -> Key:
        key = await self._ready.get()
        self._queued.discard(key)
        self._active.add(key)
        return key

    def done(self, key: Key) -> None:
        self._active.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)
