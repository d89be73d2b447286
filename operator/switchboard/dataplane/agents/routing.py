"""Which waiting conversation goes to which agent: the routing rule, pure.

The store fetches the candidates (signed in, available, present) with what each holds and the
skills they declared, and the waiting conversations with their attributes; this module decides
who has room, who qualifies, which conversation comes first and who is offered it. It is the
one place the rule lives; `spec.routing` (switchboard.api.routing) parametrises it.

A conversation joins the queue of highest priority whose selector takes it (or the default
queue); it is offered before others by its effective priority, the queue's priority plus what
it gained waiting (ageing), oldest first among equals. Its agents are those with room for its
channel type and the skills of its queue or, once each overflow's wait has passed, of the
queues it overflowed to; agents of an earlier step come first, and among them the queue's
strategy orders them. Without `spec.routing`, one queue takes everything: any agent, the
longest idle first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from switchboard.api.routing import Routing, Strategy
from switchboard.api.selector import Selector, parse
from switchboard.api.types import duration_seconds


@dataclass(frozen=True)
class Candidate:
    """An agent who could be offered a conversation, and what they hold now."""

    id: str
    capacity: Mapping[str, int]
    """How many conversations of each channel type they take at once (absent: none)."""
    holding: Mapping[str, int]
    """Conversations offered to them or accepted by them, per channel type."""
    idle_since: datetime
    """When they last had nothing in hand (or signed in, or became available)."""
    skills: Mapping[str, int] = field(default_factory=dict)
    """The level of each skill they declared at sign-in."""
    last_offered_at: datetime | None = None
    """When they were last offered a conversation (None: never)."""

    def room(self, channel_type: str) -> int:
        """How many more conversations of `channel_type` they can take."""
        return max(self.capacity.get(channel_type, 0) - self.holding.get(channel_type, 0), 0)

    @property
    def in_hand(self) -> int:
        return sum(self.holding.values())


def _strategy_key(strategy: Strategy, candidate: Candidate) -> tuple[Any, ...]:
    """Smaller first: the order a queue's strategy puts qualified agents with room in."""
    if strategy == "FewestActive":
        return (candidate.in_hand, candidate.idle_since)
    if strategy == "RoundRobin":
        return (candidate.last_offered_at is not None, candidate.last_offered_at)
    return (candidate.in_hand > 0, candidate.idle_since)


@dataclass(frozen=True)
class QueuePolicy:
    """One queue of the policy, ready to apply."""

    name: str
    selector: Selector | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    """The minimum level of each skill an agent needs."""
    strategy: Strategy = "LongestIdle"
    priority: int = 0
    ageing_per_second: float = 0.0
    overflow: tuple[tuple[str, float], ...] = ()
    """The queues it overflows to, each with the wait since joining after which it does."""

    def qualifies(self, candidate: Candidate) -> bool:
        return all(candidate.skills.get(skill, 0) >= level for skill, level in self.skills.items())

    def effective_priority(self, waited_seconds: float) -> float:
        return self.priority + waited_seconds * self.ageing_per_second

    def reached(self, waited_seconds: float) -> list[str]:
        """The queues whose agents may take a conversation waiting that long: this one, then
        those it overflowed to, in order."""
        return [self.name] + [queue for queue, after in self.overflow if after <= waited_seconds]


ANY_AGENT = QueuePolicy("")
"""The queue of a conversation no queue takes when there is no default queue: any agent."""


@dataclass(frozen=True)
class Policy:
    """The queues of `spec.routing`, highest priority first, and the default queue."""

    queues: Mapping[str, QueuePolicy]
    default_queue: str | None = None

    @classmethod
    def from_spec(cls, routing: Routing | None) -> Policy:
        if routing is None:
            return cls({})
        queues = {}
        for queue in sorted(routing.queues, key=lambda queue: -queue.priority):
            waits = [duration_seconds(step.after) for step in queue.overflow]
            queues[queue.name] = QueuePolicy(
                name=queue.name,
                selector=None if queue.selector is None else parse(queue.selector),
                skills={skill.name: skill.min_level for skill in queue.skills},
                strategy=queue.strategy,
                priority=queue.priority,
                ageing_per_second=queue.ageing_per_minute / 60.0,
                overflow=tuple(
                    (step.queue, sum(waits[: index + 1]))
                    for index, step in enumerate(queue.overflow)
                ),
            )
        return cls(queues, routing.default_queue)

    def queue_of(self, attributes: Mapping[str, str]) -> QueuePolicy:
        """The queue a conversation of these attributes joins."""
        for queue in self.queues.values():
            if queue.selector is None or queue.selector.matches(attributes):
                return queue
        if self.default_queue is not None:
            return self.queues[self.default_queue]
        return ANY_AGENT


@dataclass(frozen=True)
class Waiting:
    """A queued conversation, as routing sees it."""

    id: str
    channel_type: str
    attributes: Mapping[str, str]
    """channel, channelType, language, tier, intent (those it has)."""
    waited_seconds: float
    declined_by: str | None = None


def rank(
    policy: Policy,
    conversation: Waiting,
    candidates: Iterable[Candidate],
) -> list[str]:
    """The agents who may be offered `conversation`, best first.

    Those with room for its channel type who qualify for its queue or a queue it overflowed
    to; agents of an earlier of these come first, and the queue's strategy orders the rest.
    The agent whose offer of this conversation just expired comes last: offered it again only
    when nobody else may take it, so a contact never waits forever because the one agent who
    could take it missed an offer once.
    """
    queue = policy.queue_of(conversation.attributes)
    steps = [
        queue if name == queue.name else policy.queues[name]
        for name in queue.reached(conversation.waited_seconds)
    ]
    ranked = []
    for candidate in candidates:
        if candidate.room(conversation.channel_type) == 0:
            continue
        step = next((i for i, each in enumerate(steps) if each.qualifies(candidate)), None)
        if step is not None:
            ranked.append(
                (
                    candidate.id == conversation.declined_by,
                    step,
                    _strategy_key(queue.strategy, candidate),
                    candidate.id,
                )
            )
    return [key[-1] for key in sorted(ranked)]


def in_order(policy: Policy, waiting: Sequence[Waiting]) -> list[Waiting]:
    """The conversations in the order they are offered: highest effective priority first,
    then the longest waiting."""

    def key(conversation: Waiting) -> tuple[float, float, str]:
        queue = policy.queue_of(conversation.attributes)
        return (
            -queue.effective_priority(conversation.waited_seconds),
            -conversation.waited_seconds,
            conversation.id,
        )

    return sorted(waiting, key=key)


def channel_types_with_room(candidates: Iterable[Candidate]) -> set[str]:
    """The channel types some candidate has room for: the conversations worth considering."""
    return {
        channel_type
        for candidate in candidates
        for channel_type in candidate.capacity
        if candidate.room(channel_type) > 0
    }
