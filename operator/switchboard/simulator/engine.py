"""The discrete-event contact center: two queues in tandem, the bot's and then the agents'.

A contact arrives at the bot's queue and waits for a bot slot; once the bot is done with it,
the contact either ends there (contained) or is handed over to the agents' queue, where it waits
for a seat (docs/metrics.md). Each tier is a FIFO queue in front of a pool of identical servers
whose number changes over time. Adding servers takes effect after a readiness delay (the time new
replicas take to become ready); removing servers takes idle ones at once, and busy ones as soon
as they finish their contact (a removed replica drains, it does not drop conversations). Servers
still starting are cancelled first, newest first, as the ReplicaSet controller deletes not-ready
pods first. A server being drained is gone for good: scaling up again starts new ones.

Pure: no clock, no I/O. A driver advances simulated time with `run_until` and changes capacity with
`set_servers`; `observers` are told about every visit of a contact to a tier (the metrics exporter
and the interval report are observers). `fork` copies the whole state, to try out a capacity and
throw the copy away.
"""

from __future__ import annotations

import copy
import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from switchboard.simulator.contacts import Contact, ContactStream
from switchboard.sizing.workloads import WORKLOADS, Workload

_ARRIVAL, _DONE, _PATIENCE_EXPIRED, _SERVERS_READY = range(4)


@dataclass(slots=True)
class Visit:
    """A contact's stay with one tier: offered (arrival at the bot, handoff to the agents),
    then answered (the bot's first answer, an agent's accept) or abandoned."""

    contact: Contact
    workload: Workload
    offered_at: float
    answered_at: float | None = None
    abandoned: bool = False

    @property
    def handle_time(self) -> float:
        return self.contact.bot_time if self.workload == "bot" else self.contact.agent_time

    @property
    def patience(self) -> float:
        return self.contact.bot_patience if self.workload == "bot" else self.contact.agent_patience


class Observer(Protocol):
    """Told about each visit, at the simulated time it happens."""

    def offered(self, visit: Visit) -> None: ...

    def answered(self, visit: Visit, within_target: bool) -> None: ...

    def abandoned(self, visit: Visit, now: float) -> None: ...

    def completed(self, visit: Visit, now: float) -> None: ...


@dataclass(frozen=True)
class Counters:
    """One tier's cumulative totals since the start (like Prometheus counters), and its state
    at `time`. `offered` counts contacts that reached the tier's queue."""

    time: float
    offered: int
    answered: int
    answered_within_target: int
    abandoned: int
    completed: int
    handle_time_sum: float
    server_seconds: float
    busy_server_seconds: float
    ready_servers: int
    requested_servers: int
    busy_servers: int
    queue_length: int


@dataclass
class _Starting:
    workload: Workload
    ready_at: float
    servers: int


@dataclass
class _Pool:
    """One tier's servers, queue and totals."""

    online: int
    busy: int = 0
    draining: int = 0
    starting: list[_Starting] = field(default_factory=list)
    waiting: deque[Visit] = field(default_factory=deque)
    waiting_count: int = 0
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    completed: int = 0
    handle_time_sum: float = 0.0
    server_seconds: float = 0.0
    busy_server_seconds: float = 0.0

    @property
    def ready(self) -> int:
        """Servers taking contacts: ready ones, less those draining before removal."""
        return self.online - self.draining

    @property
    def requested(self) -> int:
        """What was asked for: ready servers and those still starting."""
        return self.ready + sum(start.servers for start in self.starting)


class ContactCenterQueue:
    """A contact center's two tiers, advanced event by event."""

    def __init__(
        self,
        contacts: ContactStream,
        *,
        initial_servers: Mapping[Workload, int],
        readiness_delay: float = 0.0,
        within_seconds: float = 20.0,
        observers: Iterable[Observer] = (),
    ) -> None:
        if any(servers < 0 for servers in initial_servers.values()):
            raise ValueError(f"servers must not be negative, got {dict(initial_servers)}")
        if readiness_delay < 0:
            raise ValueError(f"readiness delay must not be negative, got {readiness_delay}")
        self.now = contacts.profile.start
        self.readiness_delay = readiness_delay
        self.within_seconds = within_seconds
        self._contacts = contacts
        self._next_contact = 0
        self._observers = tuple(observers)
        self._events: list[tuple[float, int, int, Any]] = []
        self._sequence = 0
        self._pools = {w: _Pool(online=initial_servers.get(w, 0)) for w in WORKLOADS}
        self._schedule_next_arrival()

    # --- the driver's interface ---------------------------------------------------------------

    def run_until(self, until: float) -> None:
        """Process every event up to and including `until`, then set the clock to `until`."""
        events = self._events
        while events and events[0][0] <= until:
            moment, _, kind, item = heapq.heappop(events)
            self._advance_clock(moment)
            if kind == _ARRIVAL:
                self._arrive(item)
            elif kind == _DONE:
                self._done(item)
            elif kind == _PATIENCE_EXPIRED:
                self._patience_expired(item)
            else:
                self._servers_ready(item)
        self._advance_clock(max(until, self.now))

    def set_servers(self, workload: Workload, target: int) -> None:
        """Ask for `target` servers of the tier from now on (see the module docstring)."""
        if target < 0:
            raise ValueError(f"servers must not be negative, got {target}")
        requested = self._pools[workload].requested
        if target > requested:
            self._add_servers(workload, target - requested)
        elif target < requested:
            self._remove_servers(workload, requested - target)

    def ready_servers(self, workload: Workload) -> int:
        return self._pools[workload].ready

    def requested_servers(self, workload: Workload) -> int:
        return self._pools[workload].requested

    @property
    def contacts_in_system(self) -> int:
        """Contacts waiting for or with either tier."""
        return sum(pool.busy + pool.waiting_count for pool in self._pools.values())

    def counters(self, workload: Workload) -> Counters:
        pool = self._pools[workload]
        return Counters(
            time=self.now,
            offered=pool.offered,
            answered=pool.answered,
            answered_within_target=pool.answered_within,
            abandoned=pool.abandoned,
            completed=pool.completed,
            handle_time_sum=pool.handle_time_sum,
            server_seconds=pool.server_seconds,
            busy_server_seconds=pool.busy_server_seconds,
            ready_servers=pool.ready,
            requested_servers=pool.requested,
            busy_servers=pool.busy,
            queue_length=pool.waiting_count,
        )

    def fork(self, observers: Iterable[Observer] = ()) -> ContactCenterQueue:
        """An independent copy of the queues as they are now, telling `observers`; the
        contacts still to come are shared, so the copy meets the same ones."""
        memo = {id(self._observers): tuple(observers)}
        return copy.deepcopy(self, memo)

    # --- events -------------------------------------------------------------------------------

    def _push(self, moment: float, kind: int, item: object) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (moment, self._sequence, kind, item))

    def _advance_clock(self, moment: float) -> None:
        elapsed = moment - self.now
        for pool in self._pools.values():
            pool.server_seconds += elapsed * pool.online
            pool.busy_server_seconds += elapsed * pool.busy
        self.now = moment

    def _schedule_next_arrival(self) -> None:
        contact = self._contacts[self._next_contact]
        if contact is not None:
            self._next_contact += 1
            self._push(contact.arrival_time, _ARRIVAL, contact)

    def _arrive(self, contact: Contact) -> None:
        self._schedule_next_arrival()
        self._offer(Visit(contact, "bot", self.now))

    def _offer(self, visit: Visit) -> None:
        pool = self._pools[visit.workload]
        pool.offered += 1
        for observer in self._observers:
            observer.offered(visit)
        if pool.busy < pool.online:
            self._answer(pool, visit)
            return
        pool.waiting.append(visit)
        pool.waiting_count += 1
        if math.isfinite(visit.patience):
            self._push(self.now + visit.patience, _PATIENCE_EXPIRED, visit)

    def _answer(self, pool: _Pool, visit: Visit) -> None:
        visit.answered_at = self.now
        within = self.now - visit.offered_at <= self.within_seconds
        pool.busy += 1
        pool.answered += 1
        pool.answered_within += within
        self._push(self.now + visit.handle_time, _DONE, visit)
        for observer in self._observers:
            observer.answered(visit, within)

    def _done(self, visit: Visit) -> None:
        pool = self._pools[visit.workload]
        pool.busy -= 1
        pool.completed += 1
        pool.handle_time_sum += visit.handle_time
        for observer in self._observers:
            observer.completed(visit, self.now)
        if pool.draining:
            pool.draining -= 1
            pool.online -= 1
        else:
            self._answer_waiting(pool)
        if visit.workload == "bot" and visit.contact.escalates:
            self._offer(Visit(visit.contact, "agents", self.now))

    def _patience_expired(self, visit: Visit) -> None:
        if visit.answered_at is not None:
            return
        visit.abandoned = True
        pool = self._pools[visit.workload]
        pool.waiting_count -= 1
        pool.abandoned += 1
        for observer in self._observers:
            observer.abandoned(visit, self.now)

    def _servers_ready(self, start: _Starting) -> None:
        pool = self._pools[start.workload]
        pool.starting.remove(start)
        pool.online += start.servers
        self._answer_waiting(pool)

    def _answer_waiting(self, pool: _Pool) -> None:
        waiting = pool.waiting
        while pool.busy < pool.online and pool.waiting_count:
            visit = waiting.popleft()
            if visit.abandoned:
                continue
            pool.waiting_count -= 1
            self._answer(pool, visit)

    # --- capacity -----------------------------------------------------------------------------

    def _add_servers(self, workload: Workload, count: int) -> None:
        pool = self._pools[workload]
        if self.readiness_delay == 0:
            pool.online += count
            self._answer_waiting(pool)
            return
        start = _Starting(workload, self.now + self.readiness_delay, count)
        pool.starting.append(start)
        self._push(start.ready_at, _SERVERS_READY, start)

    def _remove_servers(self, workload: Workload, count: int) -> None:
        pool = self._pools[workload]
        for start in reversed(pool.starting):
            cancelled = min(start.servers, count)
            start.servers -= cancelled
            count -= cancelled
        # Emptied entries stay until their (now empty) readiness event fires.
        idle_removed = min(pool.online - pool.busy, count)
        pool.online -= idle_removed
        pool.draining += count - idle_removed
