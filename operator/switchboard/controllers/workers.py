"""The operator at run time: the caches, the work queue, the workers that drain it and the
autoscaler and rollout loops beside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from switchboard.controllers.autoscale import Autoscaler
from switchboard.controllers.caches import Caches, Key
from switchboard.controllers.kube import Kube
from switchboard.controllers.reconcile import Reconciler
from switchboard.controllers.rollouts import Rollouts
from switchboard.controllers.workqueue import WorkQueue

logger = logging.getLogger(__name__)

WORKERS = 8
MAX_RETRY_SECONDS = 60.0


class Controller:
    def __init__(self, workers: int = WORKERS) -> None:
        self.caches = Caches()
        self.queue: WorkQueue[Key] = WorkQueue()
        self.kube = Kube()
        self.autoscaler = Autoscaler(self.caches, self.kube, self.queue.add)
        self.rollouts = Rollouts(self.caches, self.queue.add)
        self.reconciler = Reconciler(
            self.kube, self.caches, self.autoscaler.outcomes, self.rollouts
        )
        self.failures: dict[Key, int] = {}
        self.tasks = [asyncio.create_task(self._work()) for _ in range(workers)]
        self.tasks.append(asyncio.create_task(self.autoscaler.run()))
        self.tasks.append(asyncio.create_task(self.rollouts.run()))

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                requeue = await self.reconciler.reconcile(key)
            except Exception:
                self._retry_later(key)
            else:
                self.failures.pop(key, None)
                if requeue is not None:
                    self.queue.add_after(key, requeue)
            finally:
                self.queue.done(key)

    def _retry_later(self, key: Key) -> None:
        attempt = self.failures.get(key, 0) + 1
        self.failures[key] = attempt
        delay = min(MAX_RETRY_SECONDS, 0.5 * 2**attempt)
        logger.exception("reconcile of %s/%s failed; retrying in %.0f s", *key, delay)
        self.queue.add_after(key, delay)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.autoscaler.close()
        await self.rollouts.close()
        await self.kube.client.close()
