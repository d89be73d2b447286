"""When customers arrive and how the people of a run behave (pure): the simulator's arrival
profiles and duration models, played in real time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from switchboard.simulator.contacts import Duration
from switchboard.simulator.traffic import ArrivalProfile


def arrival_offsets(
    profile: ArrivalProfile,
    rng: random.Random,
    *,
    start: float,
    speed: float,
    duration: float,
) -> Iterator[float]:
    """When customers arrive, in seconds from the run's start: the profile's arrivals from
    `start` (seconds since midnight) on, its clock running `speed` times faster than the wall
    clock, for `duration` wall-clock seconds (or until the profile ends)."""
    for moment in profile.arrival_times(rng):
        if moment < start:
            continue
        offset = (moment - start) / speed
        if offset >= duration:
            return
        yield offset


def run_seconds(profile: ArrivalProfile, *, start: float, speed: float) -> float:
    """Wall-clock seconds from `start` to the profile's end."""
    return max(profile.end - start, 0.0) / speed


@dataclass(frozen=True)
class People:
    """How long people take, in wall-clock seconds."""

    patience: Duration | None
    """How long a customer waits for an answer before leaving; None: forever."""
    think: Duration
    """A customer's time to read an answer and write the next message."""
    handle_time: Duration
    """An agent's time from accepting a conversation to resolving it."""
    agent_reply: Duration
    """An agent's time to answer a customer's message."""
