"""The discrete-event queue: contacts arrive, wait, abandon, are answered and handled.

One FIFO queue in front of a pool of identical servers whose number changes over time. Adding
servers takes effect after a readiness delay (the time new replicas take to become ready); removing
servers takes idle ones at once, and busy ones as soon as they finish their contact (a removed
replica drains, it does not drop conversations). Replicas still starting are cancelled first,
newest first, as the ReplicaSet controller deletes not-ready pods first. A server being drained is
gone for good: scaling up again starts new ones.

Pure: no clock, no I/O. A driver advances simulated time with `run_until` and changes capacity with
`set_servers`; `observers` are told about every contact event (the metrics exporter and the
interval report are observers).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from switchboard.simulator.contacts import Contact, ContactModel
from switchboard.simulator.traffic import ArrivalProfile

_ARRIVAL, _DEPARTURE, _PATIENCE_EXPIRED, _SERVERS_READY = range(4)


class Observer(Protocol):
    """Told about each contact event, at the simulated time it happens."""

    def arrived(self, contact: Contact) -> None: ...

    def answered(self, contact: Contact, within_target: bool) -> None: ...

    def abandoned(self, contact: Contact, now: float) -> None: ...

    def completed(self, contact: Contact) -> None: ...


@dataclass(frozen=True)
class Counters:
    """Cumulative totals since the start (like Prometheus counters) and the state at `time`."""

    time: float
    arrived: int
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
    ready_at: float
    servers: int


class ContactCenterQueue:
    """A contact center's queue and servers, advanced event by event."""

    def __init__(
        self,
        profile: ArrivalProfile,
        contacts: ContactModel,
        *,
        seed: int,
        initial_servers: int,
        readiness_delay: float = 0.0,
        within_seconds: float = 20.0,
        observers: Iterable[Observer] = (),
    ) -> None:
        if initial_servers < 0:
            raise ValueError(f"servers must not be negative, got {initial_servers}")
        if readiness_delay < 0:
            raise ValueError(f"readiness delay must not be negative, got {readiness_delay}")
        self.now = profile.start
        self.readiness_delay = readiness_delay
        self.within_seconds = within_seconds
        self._contacts = contacts
        self._contact_rng = random.Random(f"{seed}/contacts")
        self._arrivals: Iterator[float] = profile.arrival_times(random.Random(f"{seed}/arrivals"))
        self._observers = tuple(observers)
        self._events: list[tuple[float, int, int, object]] = []
        self._sequence = 0
        self._waiting: deque[Contact] = deque()
        self._waiting_count = 0
        self._online = initial_servers
        self._busy = 0
        self._draining = 0
        self._starting: list[_Starting] = []
        self._arrived = self._answered = self._answered_within = 0
        self._abandoned = self._completed = 0
        self._handle_time_sum = self._server_seconds = self._busy_server_seconds = 0.0
        self._schedule_next_arrival()

    # --- the driver's interface ---------------------------------------------------------------

    def run_until(self, until: float) -> None:
        """Process every event up to and including `until`, then set the clock to `until`."""
        events = self._events
        while events and events[0][0] <= until:
            moment, _, kind, item = heapq.heappop(events)
            self._advance_clock(moment)
            if kind == _ARRIVAL:
                self._arrive()
            elif kind == _DEPARTURE:
                self._complete(item)  # type: ignore[arg-type]
            elif kind == _PATIENCE_EXPIRED:
                self._patience_expired(item)  # type: ignore[arg-type]
            else:
                self._servers_ready(item)  # type: ignore[arg-type]
        self._advance_clock(max(until, self.now))

    def set_servers(self, target: int) -> None:
        """Ask for `target` servers from now on (see the module docstring for how)."""
        if target < 0:
            raise ValueError(f"servers must not be negative, got {target}")
        requested = self.requested_servers
        if target > requested:
            self._add_servers(target - requested)
        elif target < requested:
            self._remove_servers(requested - target)

    @property
    def ready_servers(self) -> int:
        """Servers taking contacts: ready ones, less those draining before removal."""
        return self._online - self._draining

    @property
    def requested_servers(self) -> int:
        """What was asked for: ready servers and those still starting."""
        return self.ready_servers + sum(start.servers for start in self._starting)

    @property
    def contacts_in_system(self) -> int:
        return self._busy + self._waiting_count

    def counters(self) -> Counters:
        return Counters(
            time=self.now,
            arrived=self._arrived,
            answered=self._answered,
            answered_within_target=self._answered_within,
            abandoned=self._abandoned,
            completed=self._completed,
            handle_time_sum=self._handle_time_sum,
            server_seconds=self._server_seconds,
            busy_server_seconds=self._busy_server_seconds,
            ready_servers=self.ready_servers,
            requested_servers=self.requested_servers,
            busy_servers=self._busy,
            queue_length=self._waiting_count,
        )

    # --- events -------------------------------------------------------------------------------

    def _push(self, moment: float, kind: int, item: object) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (moment, self._sequence, kind, item))

    def _advance_clock(self, moment: float) -> None:
        elapsed = moment - self.now
        self._server_seconds += elapsed * self._online
        self._busy_server_seconds += elapsed * self._busy
        self.now = moment

    def _schedule_next_arrival(self) -> None:
        moment = next(self._arrivals, None)
        if moment is not None:
            self._push(moment, _ARRIVAL, None)

    def _arrive(self) -> None:
        contact = self._contacts.draw(self._contact_rng, self.now)
        self._schedule_next_arrival()
        self._arrived += 1
        for observer in self._observers:
            observer.arrived(contact)
        if self._busy < self._online:
            self._answer(contact)
            return
        self._waiting.append(contact)
        self._waiting_count += 1
        if math.isfinite(contact.patience):
            self._push(self.now + contact.patience, _PATIENCE_EXPIRED, contact)

    def _answer(self, contact: Contact) -> None:
        contact.answer_time = self.now
        within = self.now - contact.arrival_time <= self.within_seconds
        self._busy += 1
        self._answered += 1
        self._answered_within += within
        self._push(self.now + contact.handle_time, _DEPARTURE, contact)
        for observer in self._observers:
            observer.answered(contact, within)

    def _complete(self, contact: Contact) -> None:
        self._busy -= 1
        self._completed += 1
        self._handle_time_sum += contact.handle_time
        for observer in self._observers:
            observer.completed(contact)
        if self._draining:
            self._draining -= 1
            self._online -= 1
        else:
            self._answer_waiting()

    def _patience_expired(self, contact: Contact) -> None:
        if contact.answer_time is not None:
            return
        contact.abandoned = True
        self._waiting_count -= 1
        self._abandoned += 1
        for observer in self._observers:
            observer.abandoned(contact, self.now)

    def _servers_ready(self, start: _Starting) -> None:
        self._starting.remove(start)
        self._online += start.servers
        self._answer_waiting()

    def _answer_waiting(self) -> None:
        waiting = self._waiting
        while self._busy < self._online and self._waiting_count:
            contact = waiting.popleft()
            if contact.abandoned:
                continue
            self._waiting_count -= 1
            self._answer(contact)

    # --- capacity -----------------------------------------------------------------------------

    def _add_servers(self, count: int) -> None:
        if self.readiness_delay == 0:
            self._online += count
            self._answer_waiting()
            return
        start = _Starting(self.now + self.readiness_delay, count)
        self._starting.append(start)
        self._push(start.ready_at, _SERVERS_READY, start)

    def _remove_servers(self, count: int) -> None:
        for start in reversed(self._starting):
            cancelled = min(start.servers, count)
            start.servers -= cancelled
            count -= cancelled
        # Emptied entries stay until their (now empty) readiness event fires.
        idle_removed = min(self._online - self._busy, count)
        self._online -= idle_removed
        self._draining += count - idle_removed
