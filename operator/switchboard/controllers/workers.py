"""The operator at run time: the caches and the work queue, which the watches keep current on
every replica, and the term of leadership that acts on them (the workers that reconcile and
the autoscaler and rollout loops beside them) on the leader only.

With leader election (controllers/leadership.py) a replica that is not the leader only keeps
its caches warm and its queue filled, so a takeover starts with a full picture; every term
starts with fresh memory (a previous term's, or another leader's, is stale) and reconciles
every ContactCenter once, which writes nothing where nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from switchboard.controllers.autoscale import Autoscaler
from switchboard.controllers.caches import Caches, Key
from switchboard.controllers.kube import Kube, NotLeading
from switchboard.controllers.leadership import Elector, LeaderElection
from switchboard.controllers.quality import QualityReader
from switchboard.controllers.reconcile import Reconciler
from switchboard.controllers.rollouts import Rollouts
from switchboard.controllers.ticks import SpecsByGeneration
from switchboard.controllers.workqueue import WorkQueue
from switchboard.metrics import operator as metrics
from switchboard.resources.common import Manifest

logger = logging.getLogger(__name__)

WORKERS = 8
MAX_RETRY_SECONDS = 60.0


class Term:
    """What acts while this replica leads: the reconcile workers, the autoscaler, the
    rollouts and the quality figures, with a client of their own that refuses to write once
    the term is over."""

    def __init__(
        self, caches: Caches, queue: WorkQueue[Key], leading: Callable[[], bool], workers: int
    ) -> None:
        self.queue = queue
        self.over = False
        self.kube = Kube(may_write=lambda: not self.over and leading())
        # The autoscaler and the quality figures read the same validated specs: one copy of
        # each (a validated quickstart holds 16 KB).
        specs = SpecsByGeneration()
        self.autoscaler = Autoscaler(caches, self.kube, queue.add, specs=specs)
        self.rollouts = Rollouts(caches, queue.add)
        self.quality = QualityReader(caches, queue.add, specs=specs)
        self.reconciler = Reconciler(
            self.kube, caches, self.autoscaler.outcomes, self.rollouts, self.quality.figures
        )
        self.failures: dict[Key, int] = {}
        self.tasks = [asyncio.create_task(self._work()) for _ in range(workers)]
        self.tasks.append(asyncio.create_task(self.autoscaler.run()))
        self.tasks.append(asyncio.create_task(self.rollouts.run()))
        self.tasks.append(asyncio.create_task(self.quality.run()))

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                requeue = await self.reconciler.reconcile(key)
            except NotLeading:
                self.queue.add(key)  # for the next term, here or on another replica's queue
                return
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

    async def end(self) -> None:
        self.over = True
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.autoscaler.close()
        await self.rollouts.close()
        await self.quality.close()
        await self.kube.client.close()


class Controller:
    """Caches and queue on every replica; a term of leadership on the leader. Without leader
    election this replica leads from the start."""

    def __init__(self, election: LeaderElection | None, identity: str, workers: int = WORKERS):
        self.caches = Caches()
        self.queue: WorkQueue[Key] = WorkQueue()
        metrics.WORKQUEUE_DEPTH.set_function(self.queue.depth)
        self.identity = identity
        self.workers = workers
        self.term: Term | None = None
        self.elector: Elector | None = None
        metrics.LEADER.labels(identity=identity).set(0)
        if election is None:
            self._lead()
        else:
            self.elector = Elector(election, self._lead, self._follow)
            self.elector.start()

    def _leading(self) -> bool:
        return self.elector is None or self.elector.acting()

    def _lead(self) -> None:
        self.term = Term(self.caches, self.queue, self._leading, self.workers)
        # Every ContactCenter once: the new leader's memory starts empty.
        for key in list(self.caches.contact_centers):
            self.queue.add(key)
        metrics.LEADER.labels(identity=self.identity).set(1)

    def forget(self, body: Manifest) -> None:
        """A deleted ContactCenter: the term forgets what a new one of its name must not
        inherit. A follower remembers nothing; its next term starts empty."""
        if self.term is not None:
            self.term.reconciler.forget(body)

    async def _follow(self) -> None:
        metrics.LEADER.labels(identity=self.identity).set(0)
        if self.term is not None:
            term, self.term = self.term, None
            await term.end()

    async def stop(self) -> None:
        """Stops acting, then hands the lease over (if it leads) for a quick takeover."""
        if self.elector is not None:
            await self.elector.stop()
        await self._follow()
