"""Live mode: the simulated contact center runs against the wall clock (optionally sped up),
its capacity follows a capacity source, and an exporter publishes its metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from switchboard.simulator.capacity import CapacitySource, CapacityUnavailable
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.exporter import MetricsExporter
from switchboard.sizing.workloads import WORKLOADS

log = logging.getLogger(__name__)


async def run_live(
    queue: ContactCenterQueue,
    exporter: MetricsExporter,
    capacity: CapacitySource,
    *,
    speed: float,
    until: float | None = None,
    poll_seconds: float = 2.0,
    tick_seconds: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Advance the queue with the clock (`speed` simulated seconds per wall second) until the
    simulated time `until` (forever without it). Capacity is read every `poll_seconds` of wall
    time; when it cannot be read, the simulator keeps the capacity it has and says so once."""
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed}")
    wall_start, simulated_start = clock(), queue.now
    next_poll = wall_start
    unavailable = False
    while until is None or queue.now < until:
        wall = clock()
        if wall >= next_poll:
            next_poll = wall + poll_seconds
            try:
                servers = await capacity.servers()
            except CapacityUnavailable as error:
                if not unavailable:
                    log.warning("capacity unknown, keeping %s: %s", _servers(queue), error)
                unavailable = True
            else:
                with exporter.updating():  # new servers answer waiting contacts at once
                    for workload, count in servers.items():
                        queue.set_servers(workload, count)
                if unavailable:
                    log.warning("capacity known again: %s", _servers(queue))
                unavailable = False
        simulated = simulated_start + (clock() - wall_start) * speed
        with exporter.updating():
            queue.run_until(simulated if until is None else min(simulated, until))
            for workload in WORKLOADS:
                exporter.record_state(workload, queue.counters(workload))
        await asyncio.sleep(tick_seconds)


def _servers(queue: ContactCenterQueue) -> str:
    return ", ".join(f"{queue.ready_servers(w)} {w} servers" for w in WORKLOADS)
