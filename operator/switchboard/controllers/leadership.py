"""Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
of several replicas one leads (reconciles, scales, rolls out) while the others keep their
watch caches warm, ready to take over.

The Lease holds `holderIdentity`, `leaseDurationSeconds`, `acquireTime`, `renewTime` and
`leaseTransitions`. A candidate takes it when nobody holds it, or when it has not seen it
change for a lease duration by its own clock (two machines' clocks need not agree; their
rates do). The leader renews it every retry period. A leader that has not renewed within the
renew deadline stops acting, which is before any candidate can see the lease expire (the renew
deadline is shorter than the lease); a leader that shuts down stops acting first, then
releases the lease, so that a candidate takes over at its next try.

The record logic is pure (`claimed`, `released`, `must_wait`); `Elector` is its I/O, on a
thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx2  # lightkube's HTTP client: its transport errors are a failed try, not a crash
from lightkube import ApiError, AsyncClient
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

from switchboard import FIELD_MANAGER

logger = logging.getLogger(__name__)

# A candidate retries after the retry period plus up to this share of it more, at random, so
# that candidates started together do not keep colliding (client-go's JitterFactor).
JITTER = 1.2


@dataclass(frozen=True)
class Timings:
    """client-go's defaults: a lease of 15 s, renewed every 2 s, given up after 10 s without
    a renewal."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def problem(self) -> str | None:
        """What makes these timings unsafe, in the flags' words; None if they are sound."""
        if self.renew_deadline >= self.lease_duration:
            return "--renew-deadline must be shorter than --lease-duration"
        if self.retry_period * JITTER >= self.renew_deadline:
            return f"--renew-deadline must be longer than {JITTER:g} x --retry-period"
        return None


@dataclass(frozen=True)
class LeaderElection:
    namespace: str
    name: str
    identity: str
    timings: Timings


@dataclass(frozen=True)
class LeaseRecord:
    """A Lease's spec: who holds it (empty once released), for how long, since when."""

    holder: str
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int

    @classmethod
    def from_spec(cls, spec: LeaseSpec) -> LeaseRecord:
        return cls(
            holder=spec.holderIdentity or "",
            lease_duration_seconds=spec.leaseDurationSeconds or 0,
            acquire_time=spec.acquireTime,
            renew_time=spec.renewTime,
            transitions=spec.leaseTransitions or 0,
        )

    def spec(self) -> LeaseSpec:
        return LeaseSpec(
            holderIdentity=self.holder,
            leaseDurationSeconds=self.lease_duration_seconds,
            acquireTime=self.acquire_time,
            renewTime=self.renew_time,
            leaseTransitions=self.transitions,
        )


def claimed(
    observed: LeaseRecord | None, identity: str, now: datetime, lease_duration: float
) -> LeaseRecord:
    """The record that has `identity` hold the lease from `now`: a renewal keeps the acquire
    time and the count of transitions; a takeover starts afresh and counts one more."""
    seconds = math.ceil(lease_duration)
    if observed is not None and observed.holder == identity:
        return replace(observed, lease_duration_seconds=seconds, renew_time=now)
    transitions = observed.transitions + 1 if observed is not None else 0
    return LeaseRecord(identity, seconds, now, now, transitions)


def released(observed: LeaseRecord, now: datetime) -> LeaseRecord:
    """The record a leader leaves when it stops: nobody holds it, and it has all but expired
    for a candidate that still saw it held (client-go's ReleaseOnCancel)."""
    return LeaseRecord("", 1, now, now, observed.transitions)


def must_wait(observed: LeaseRecord, identity: str, unchanged_since: float, now: float) -> bool:
    """Whether another holder may still be acting: the lease names someone else and has
    changed within its duration, as seen from here (times from this replica's clock)."""
    return (
        observed.holder not in ("", identity)
        and now < unchanged_since + observed.lease_duration_seconds
    )


class Elector:
    """Campaigns for the Lease and keeps it, on a thread and event loop of its own (as
    client-go renews on a goroutine of its own), so that however busy the operator's loop is
    with watch events, the renewals go out on time. Calls `lead()` on the operator's loop once
    this replica holds the lease, and awaits `follow()` there once it lost it (or could not
    renew it in time), then campaigns again."""

    def __init__(
        self,
        election: LeaderElection,
        lead: Callable[[], None],
        follow: Callable[[], Coroutine[None, None, None]],
    ) -> None:
        self.election = election
        self.timings = election.timings
        self._lead = lead
        self._follow = follow
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0  # monotonic: when the observed record last changed
        self._resource_version: str | None = None
        # Monotonic: when the last successful claim was sent; None while not leading. Written on
        # the elector's thread, read by `acting` on any.
        self._renewed_at: float | None = None
        self._home: asyncio.AbstractEventLoop | None = None  # where lead and follow run
        self._loop = asyncio.new_event_loop()  # the elector's own, run by its thread
        self._stopping = asyncio.Event()  # set on the elector's loop to stop it
        self._thread = threading.Thread(target=self._serve, name="leader-election", daemon=True)
        self._client: AsyncClient  # made on the elector's loop, which it belongs to

    def start(self) -> None:
        """Starts campaigning; call from the loop that `lead` and `follow` belong to."""
        self._home = asyncio.get_running_loop()
        self._thread.start()

    async def stop(self) -> None:
        """Stops campaigning and, if leading, stops acting, then hands the lease back so that
        a candidate takes over at its next try instead of waiting for it to expire."""
        with contextlib.suppress(RuntimeError):  # its loop is closed: the thread failed
            self._loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.to_thread(self._thread.join)

    def _serve(self) -> None:
        try:
            self._loop.run_until_complete(self._campaign_until_stopped())
        except Exception:
            logger.exception("leader election failed: this replica no longer campaigns")
        finally:
            self._loop.close()

    async def _campaign_until_stopped(self) -> None:
        # A client of its own loop: the renewals never queue behind the operator's requests.
        self._client = AsyncClient(
            namespace=self.election.namespace,
            field_manager=FIELD_MANAGER,
            timeout=httpx2.Timeout(self.timings.renew_deadline),
        )
        campaign = asyncio.create_task(self.run())
        try:
            await self._stopping.wait()
            campaign.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await campaign
            await self._release()
        finally:
            await self._client.close()

    def acting(self) -> bool:
        """Whether this replica may act now: it leads, and the renew deadline of its last
        renewal has not passed (checked before every write, however late a task runs)."""
        return (
            self._renewed_at is not None
            and time.monotonic() < self._renewed_at + self.timings.renew_deadline
        )

    async def run(self) -> None:
        """Campaigns, leads while the lease is renewed, follows again when it is not."""
        while True:
            await self._campaign()
            logger.info(
                "leading as %s (Lease %s/%s)",
                self.election.identity,
                self.election.namespace,
                self.election.name,
            )
            assert self._home is not None
            self._home.call_soon_threadsafe(self._lead)
            await self._stop_leading(await self._keep())

    async def _campaign(self) -> None:
        """Tries every retry period (with jitter) until this replica holds the lease."""
        while True:
            if await self._attempt():
                return
            await asyncio.sleep(self.timings.retry_period * (1 + random.random() * JITTER))

    async def _keep(self) -> str:
        """Renews every retry period while it can; says why it stopped: no renewal by the renew
        deadline, or another replica holds the lease."""
        while True:
            await asyncio.sleep(self.timings.retry_period)
            while not await self._renew():
                assert self._renewed_at is not None
                if self._observed is not None and self._observed.holder not in (
                    "",
                    self.election.identity,
                ):
                    return f"the lease is held by {self._observed.holder}"
                left = self._renewed_at + self.timings.renew_deadline - time.monotonic()
                if left <= 0:
                    return "could not renew the lease within the renew deadline"
                await asyncio.sleep(min(self.timings.retry_period, left))

    async def _renew(self) -> bool:
        """One renewal, abandoned when the renew deadline comes first."""
        assert self._renewed_at is not None
        left = self._renewed_at + self.timings.renew_deadline - time.monotonic()
        if left <= 0:
            return False
        # Not `wait_for`: before Python 3.12 it swallows a cancellation that comes as the
        # renewal completes, and the stop, which cancels the campaign, then waits forever.
        try:
            async with asyncio.timeout(left):
                return await self._attempt()
        except TimeoutError:
            return False

    async def _stop_leading(self, why: str, level: int = logging.WARNING) -> None:
        logger.log(level, "stopped leading: %s", why)
        self._renewed_at = None
        assert self._home is not None
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._follow(), self._home))

    async def _attempt(self) -> bool:
        """One try to acquire or renew the lease; True if this replica holds it now."""
        sent = time.monotonic()
        identity = self.election.identity

        def claim(observed: LeaseRecord | None) -> LeaseRecord:
            return claimed(observed, identity, datetime.now(UTC), self.timings.lease_duration)

        try:
            if self._renewed_at is not None:
                # The leader's fast path: the record it wrote last is most likely the latest.
                try:
                    await self._write(claim(self._observed))
                except ApiError:
                    pass  # changed or gone since: read it
                else:
                    self._renewed_at = sent
                    return True
            if not await self._get():
                await self._write(claim(None), create=True)
            else:
                assert self._observed is not None
                if must_wait(self._observed, identity, self._observed_at, time.monotonic()):
                    return False
                await self._write(claim(self._observed))
        except (ApiError, httpx2.HTTPError, OSError) as error:
            level = logging.WARNING if self._renewed_at is not None else logging.DEBUG
            logger.log(level, "acquiring or renewing the lease failed: %s", error)
            return False
        self._renewed_at = sent
        return True

    async def _get(self) -> bool:
        """Reads the Lease into what this replica observed; False if there is none."""
        try:
            lease = await self._client.get(Lease, self.election.name)
        except ApiError as error:
            if error.status.code == 404:
                return False
            raise
        self._observe(lease)
        return True

    async def _write(self, record: LeaseRecord, *, create: bool = False) -> None:
        """Creates the Lease, or replaces it if it is still the version last seen (a
        conflict means another replica wrote it first)."""
        lease = Lease(
            metadata=ObjectMeta(
                name=self.election.name,
                namespace=self.election.namespace,
                resourceVersion=None if create else self._resource_version,
            ),
            spec=record.spec(),
        )
        written = await (self._client.create(lease) if create else self._client.replace(lease))
        self._observe(written)

    def _observe(self, lease: Lease) -> None:
        assert lease.metadata is not None and lease.spec is not None
        record = LeaseRecord.from_spec(lease.spec)
        self._resource_version = lease.metadata.resourceVersion
        if record != self._observed:
            self._observed = record
            self._observed_at = time.monotonic()

    async def _release(self) -> None:
        if self._renewed_at is None:
            return
        await self._stop_leading("shutting down", logging.INFO)
        try:
            released_it = await self._hand_back()
        except (ApiError, httpx2.HTTPError, OSError) as error:
            logger.warning("releasing the lease failed (it expires instead): %s", error)
        else:
            if released_it:
                logger.info("released the lease")
            else:
                logger.info("the lease was taken by another replica meanwhile; nothing to release")

    async def _hand_back(self) -> bool:
        """Writes the released record; False if another replica holds the lease by now. A
        renewal cut short by the stop may have landed without this replica seeing it, so a
        conflict is read again, and if it still holds the lease, written once more."""
        assert self._observed is not None
        try:
            await self._write(released(self._observed, datetime.now(UTC)))
        except ApiError as error:
            if error.status.code != 409 or not await self._get():
                raise
            if self._observed.holder != self.election.identity:
                return False  # another replica took it meanwhile: nothing of ours to hand back
            await self._write(released(self._observed, datetime.now(UTC)))
        return True
