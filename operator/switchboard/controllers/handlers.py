"""kopf registrations, and nothing else: watches feed the caches and the work queue; the
workers (controllers/workers.py) reconcile.

Only event handlers are used, so kopf itself writes nothing to the objects (no progress or
last-handled annotations, no finalizers): what the operator writes is what it decided.
"""

from __future__ import annotations

from typing import Any

import kopf
from kopf._cogs.structs import bodies, ephemera
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory

from switchboard import GROUP, PLURAL, VERSION
from switchboard.controllers.workers import Controller
from switchboard.resources.common import INSTANCE_LABEL
from switchboard.resources.kinds import CHILD_KINDS, MANAGED_SELECTOR

CHILD_EVENT_DELAY_SECONDS = 0.3
# kopf gives each watched object with news a worker, which holds the object's last event (its
# whole parsed body) until it has waited this long for another (kopf's default is 5 s): amid a
# fleet's creation, hundreds of bodies held for nothing. A worker is cheap to start again.
WORKER_IDLE_SECONDS = 0.5


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff base: it serves change handlers, and only event handlers are registered, yet
    kopf builds one for every event of every watched object by deep-copying its body (a
    tenth of the leader's time amid a fleet's creation, most of a follower's)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        pass


class EventsOnlyMemories(ResourceMemories):
    """kopf keeps a memory of every object it watches, for as long as the object exists: for
    daemons, timers, indexes, change handlers and the throttling of their errors, none of which
    is registered here. A memory for each event alone serves event handlers as well, and spares
    about a kilobyte an object (20 MiB at 1,000 ContactCenters, their children and Secrets)."""

    async def recall(
        self,
        raw_body: bodies.RawBody,
        *,
        memobase: ephemera.AnyMemo | None = None,
        noticed_by_listing: bool = False,
        ephemeral: bool = False,
    ) -> ResourceMemory:
        return await super().recall(
            raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing, ephemeral=True
        )


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.posting.enabled = False  # events are the operator's own, written on purpose
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.queueing.idle_timeout = WORKER_IDLE_SECONDS
    selector = ",".join(f"{key}={value}" for key, value in MANAGED_SELECTOR.items())
    for child in CHILD_KINDS:
        settings.watching.label_selectors[child.resource] = selector
    # `switchboard run` puts the leader election (or None) and this replica's identity in memo.
    memo.controller = Controller(memo.election, memo.identity)


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
        controller.caches.remove_contact_center(key)
        controller.forget(dict(body))
        return
    if controller.caches.put_contact_center(key, body):
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


for _child in CHILD_KINDS:
    kopf.on.event(*_child.resource, labels=MANAGED_SELECTOR)(child_changed)


@kopf.on.event("v1", "secrets")
async def secret_changed(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """A Secret changed: if gateways serve TLS with it (a renewed certificate), reconcile their
    ContactCenter, which rolls them. Every Secret is watched because the user's carries no
    label of ours; the event's body is looked at, never kept."""
    meta = event["object"]["metadata"]
    controller: Controller = memo.controller
    owner = controller.caches.tls_secrets.get((meta["namespace"], meta["name"]))
    if owner is not None:
        controller.queue.add(owner)
