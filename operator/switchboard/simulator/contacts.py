"""What a contact does once it arrives: who handles it, for how long, how long it will wait."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal, Protocol

Handler = Literal["bot", "agent"]


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
    """How contacts behave.

    Every answered contact starts with the bot. A share `bot_containment` is finished by the bot
    (handle time `bot_handle_time`); the rest escalate and are handled by an agent
    (`agent_handle_time`). Bot conversation slots and agent seats form one pool of servers (bot
    replicas x concurrency + agent replicas x seats), the capacity the operator sizes.
    A waiting contact abandons once its patience runs out; `patience=None` means nobody leaves.
    """

    agent_handle_time: Duration
    patience: Duration | None = None
    bot_containment: float = 0.0
    bot_handle_time: Duration | None = None
    bot_response_time: Duration = LogNormal(mean=0.3, cv=0.5)

    def __post_init__(self) -> None:
        if not 0.0 <= self.bot_containment <= 1.0:
            raise ValueError(f"bot containment must be in [0, 1], got {self.bot_containment}")
        if self.bot_containment > 0 and self.bot_handle_time is None:
            raise ValueError("a bot containment above 0 needs a bot handle time")

    @property
    def mean_handle_time(self) -> float:
        """The mean handle time over all answered contacts (what the operator observes)."""
        bot_mean = self.bot_handle_time.mean if self.bot_handle_time is not None else 0.0
        return (
            self.bot_containment * bot_mean
            + (1.0 - self.bot_containment) * self.agent_handle_time.mean
        )

    def draw(self, rng: random.Random, arrival_time: float) -> Contact:
        """A new contact; every random choice about it is made here, at its arrival.

        Drawing everything in arrival order keeps a contact's fate independent of the capacity
        policy, so two policies run with the same seed face exactly the same contacts.
        """
        contained = rng.random() < self.bot_containment
        if contained:
            assert self.bot_handle_time is not None  # checked in __post_init__
            handle_time = self.bot_handle_time.sample(rng)
        else:
            handle_time = self.agent_handle_time.sample(rng)
        patience = self.patience.sample(rng) if self.patience is not None else math.inf
        return Contact(
            arrival_time=arrival_time,
            handle_time=handle_time,
            patience=patience,
            handler="bot" if contained else "agent",
            bot_response_time=self.bot_response_time.sample(rng),
        )


@dataclass(slots=True)
class Contact:
    """One contact and its fate, decided at arrival; `answer_time` is set by the queue."""

    arrival_time: float
    handle_time: float
    patience: float
    handler: Handler
    bot_response_time: float
    answer_time: float | None = None
    abandoned: bool = False
