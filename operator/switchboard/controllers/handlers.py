"""kopf registrations, and nothing else: watches feed the caches and the work queue; the
workers reconcile (controllers/reconcile.py).

Only event handlers are used, so kopf itself writes nothing to the objects (no progress or
last-handled annotations, no finalizers): what the operator writes is what it decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf

from switchboard import GROUP, PLURAL, VERSION
from switchboard.controllers.autoscale import Autoscaler
from switchboard.controllers.kube import Kube
from switchboard.controllers.reconcile import (
    INSTANCE_LABEL,
    MANAGED_BY,
    Caches,
    Key,
    Reconciler,
)
from switchboard.controllers.workqueue import WorkQueue

logger = logging.getLogger(__name__)

CHILD_RESOURCES = (  # kopf selectors of what the operator applies and watches
    ("v1", "configmaps"),
    ("v1", "services"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("policy", "v1", "poddisruptionbudgets"),
)
WORKERS = 8
CHILD_EVENT_DELAY_SECONDS = 0.3
MAX_RETRY_SECONDS = 60.0


class Controller:
    """The caches, the queue and the workers that drain it."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.caches = Caches()
        self.queue: WorkQueue[Key] = WorkQueue()
        self.kube = Kube()
        self.reconciler = Reconciler(self.kube, self.caches)
        self.autoscaler = Autoscaler(self.caches, self.reconciler, self.kube, self.queue.add)
        self.failures: dict[Key, int] = {}
        self.tasks = [asyncio.create_task(self._work()) for _ in range(workers)]
        self.tasks.append(asyncio.create_task(self.autoscaler.run()))

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
        await self.kube.client.close()


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.posting.enabled = False  # events are the operator's own, written on purpose
    selector = ",".join(f"{key}={value}" for key, value in MANAGED_BY.items())
    for resource in CHILD_RESOURCES:
        settings.watching.label_selectors[resource] = selector
    memo.controller = Controller()


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    await memo.controller.stop()


# Handlers are async so that they run on the event loop: kopf runs plain functions in a
# thread pool, where touching the asyncio work queue would not be safe.
@kopf.on.event(GROUP, VERSION, PLURAL)
async def contact_center_changed(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    body = event["object"]
    key = (body["metadata"]["namespace"], body["metadata"]["name"])
    controller: Controller = memo.controller
    if event["type"] == "DELETED":
        controller.caches.contact_centers.pop(key, None)
        return
    controller.caches.contact_centers[key] = dict(body)
    controller.queue.add(key)


async def child_changed(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """A child changed or went away: refresh the cache and reconcile its owner, which
    restores it if it drifted from what the owner's spec asks for."""
    body = event["object"]
    controller: Controller = memo.controller
    meta = body["metadata"]
    key = (str(body["kind"]), meta["namespace"], meta["name"])
    if event["type"] == "DELETED":
        controller.caches.remove_child(key)
    else:
        controller.caches.put_child(body)
    owner = meta.get("labels", {}).get(INSTANCE_LABEL)
    if owner:
        # Children change in bursts (a rollout updates a Deployment's status several times):
        # coalesce them into one reconcile of the owner.
        controller.queue.add_after((meta["namespace"], owner), CHILD_EVENT_DELAY_SECONDS)


for _resource in CHILD_RESOURCES:
    kopf.on.event(*_resource, labels=MANAGED_BY)(child_changed)
