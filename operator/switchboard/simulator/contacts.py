"""What a contact does once it arrives: how long the bot and an agent take, whether the bot hands
it over, how long it waits before leaving; and the day's contacts, drawn once."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Protocol

from switchboard.simulator.traffic import ArrivalProfile


class Duration(Protocol):
    """A random duration in seconds."""

    @property
    def mean(self) -> float: ...

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True)
class Exponential:
    """Memoryless durations: the M in M/M/c, and the patience of Erlang A."""

    mean: float

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise ValueError(f"mean duration must be positive, got {self.mean}")

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True)
class LogNormal:
    """Log-normal durations given their mean and coefficient of variation (stddev / mean).

    Handle times in real contact centers are close to log-normal (Brown et al., 2005).
    """

    mean: float
    cv: float

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise ValueError(f"mean duration must be positive, got {self.mean}")
        if not self.cv > 0:
            raise ValueError(f"coefficient of variation must be positive, got {self.cv}")

    def sample(self, rng: random.Random) -> float:
        sigma_squared = math.log1p(self.cv * self.cv)
        mu = math.log(self.mean) - sigma_squared / 2.0
        return rng.lognormvariate(mu, math.sqrt(sigma_squared))


@dataclass(frozen=True)
class ContactModel:
    """How contacts behave in the two tiers (docs/metrics.md).

    Every contact meets the bot first: it waits for a bot slot (bot replicas x concurrency),
    then spends `bot_handle_time` with the bot. The bot finishes a share `bot_containment`;
    it hands the rest over to the agents' queue, where they wait for a seat (agent replicas x
    seats per replica) and then spend `agent_handle_time` with an agent. A contact waiting in
    either queue leaves once its patience for that queue runs out (drawn afresh for each);
    `patience=None` means nobody leaves.
    """

    bot_handle_time: Duration
    agent_handle_time: Duration
    bot_containment: float = 0.0
    patience: Duration | None = None
    bot_response_time: Duration = LogNormal(mean=0.3, cv=0.5)

    def __post_init__(self) -> None:
        if not 0.0 <= self.bot_containment <= 1.0:
            raise ValueError(f"bot containment must be in [0, 1], got {self.bot_containment}")

    @property
    def escalation(self) -> float:
        """The share of contacts the bot hands to the agents."""
        return 1.0 - self.bot_containment

    def draw(self, rng: random.Random, arrival_time: float) -> Contact:
        """A new contact; every random choice about it is made here, at its arrival.

        Drawing everything in arrival order keeps a contact's fate independent of the capacity
        policy, so two policies run with the same seed face exactly the same contacts.
        """
        escalates = rng.random() >= self.bot_containment
        bot_time = self.bot_handle_time.sample(rng)
        agent_time = self.agent_handle_time.sample(rng)
        bot_patience, agent_patience = (
            (self.patience.sample(rng), self.patience.sample(rng))
            if self.patience is not None
            else (math.inf, math.inf)
        )
        return Contact(
            arrival_time=arrival_time,
            bot_time=bot_time,
            escalates=escalates,
            agent_time=agent_time,
            bot_patience=bot_patience,
            agent_patience=agent_patience,
            bot_response_time=self.bot_response_time.sample(rng),
        )


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact and everything about it that does not depend on capacity."""

    arrival_time: float
    bot_time: float
    escalates: bool
    agent_time: float  # drawn for every contact, used if it escalates
    bot_patience: float
    agent_patience: float
    bot_response_time: float

    def __deepcopy__(self, memo: dict[int, Any]) -> Contact:
        return self  # immutable: a copy of the queues shares it


class ContactStream:
    """A day's contacts in arrival order, drawn when first needed and the same for every reader
    with the same seed; copies of a queue share the stream (`__deepcopy__`)."""

    def __init__(self, profile: ArrivalProfile, model: ContactModel, seed: int) -> None:
        self.profile = profile
        self.model = model
        self._arrivals = profile.arrival_times(random.Random(f"{seed}/arrivals"))
        self._rng = random.Random(f"{seed}/contacts")
        self._drawn: list[Contact] = []

    def __getitem__(self, index: int) -> Contact | None:
        """The index-th contact of the day; None after the last."""
        while len(self._drawn) <= index:
            moment = next(self._arrivals, None)
            if moment is None:
                return None
            self._drawn.append(self.model.draw(self._rng, moment))
        return self._drawn[index]

    def __deepcopy__(self, memo: dict[int, Any]) -> ContactStream:
        return self
