"""Routing: which agents a contact handed off by the bot is offered to, and in which order.

Queues select contacts by their attributes (`switchboard.api.selector`), target agents by
skills, order the agents by a strategy and the contacts by a priority that grows as they wait;
a contact waiting too long overflows to other queues' agents. Agents declare their skills when
they sign in; `skills` is the catalogue queues are checked against.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from switchboard.api.rules import Rule, unique_names
from switchboard.api.selector import ATTRIBUTES, SELECTOR_PATTERN, valid
from switchboard.api.types import (
    DNS_LABEL_PATTERN,
    ApiModel,
    Duration,
    duration_at_least,
)

MAX_SKILLS = 64
MAX_QUEUES = 32
MAX_OVERFLOWS = 8
MAX_SKILL_LEVEL = 10

SkillName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN),
    Field(description="A skill, such as `billing` or `spanish`: a DNS label."),
]
QueueName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)
]
Selector = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    Rule(
        f'self.matches(r"{SELECTOR_PATTERN}")',
        "routing.queues[].selector must be comparisons of "
        + ", ".join(ATTRIBUTES)
        + " (`tier == 'vip'`, `language != 'en'`, `intent in ['billing', 'refund']`) "
        "joined by && and ||",
        valid,
    ),
]
Strategy = Literal["LongestIdle", "FewestActive", "RoundRobin"]


class SkillRequirement(ApiModel):
    """A skill a queue's agents must have, at a minimum level."""

    name: SkillName = Field(description="A skill of routing.skills.")
    min_level: int = Field(
        1,
        description=f"The lowest level of the skill that qualifies, 1 to {MAX_SKILL_LEVEL}.",
        ge=1,
        le=MAX_SKILL_LEVEL,
    )


class Overflow(ApiModel):
    """A further queue whose agents may take the contact once it waited `after` more."""

    queue: QueueName = Field(description="A queue of routing.queues, not this one.")
    after: Annotated[Duration, duration_at_least("1s", "routing.queues[].overflow[].after")] = (
        Field(
            description=(
                "How long after the previous step (joining the queue, or the previous "
                "overflow) the contact overflows. At least 1s. Format: a duration such as `60s`."
            ),
        )
    )


class RoutingQueue(ApiModel):
    """Contacts a selector takes, offered to agents with the queue's skills."""

    RULES = (
        Rule(
            "self.overflow.all(o, o.queue != self.name)",
            "routing.queues[].overflow must not name the queue itself",
            lambda queue: all(step.queue != queue.name for step in queue.overflow),
        ),
    )

    name: QueueName = Field(description="Name of the queue, unique in routing.queues.")
    selector: Selector | None = Field(
        None,
        description=(
            "Which contacts the queue takes: comparisons of `channel`, `channelType`, "
            "`language`, `tier` (the customer's start attributes) and `intent` (the bot's last) "
            "with `==`, `!=` or `in [...]`, joined by `&&` and `||` (no parentheses; `&&` binds "
            "tighter). Unset: every contact."
        ),
    )
    skills: Annotated[list[SkillRequirement], unique_names("routing.queues[].skills")] = Field(
        default_factory=list,
        json_schema_extra={"default": []},
        description="The skills an agent needs, each at its minimum level. Empty: any agent.",
        max_length=MAX_SKILLS,
    )
    strategy: Strategy = Field(
        "LongestIdle",
        description=(
            "Which qualified agent with room is offered the contact: `LongestIdle` (the one "
            "with nothing in hand for the longest), `FewestActive` (the one holding the fewest "
            "conversations) or `RoundRobin` (the one offered a contact least recently)."
        ),
    )
    priority: int = Field(
        0,
        description=(
            "Contacts of higher priority are offered first. A contact several queues select "
            "joins the one of highest priority, so priorities are unique."
        ),
        ge=-1000,
        le=1000,
    )
    ageing_per_minute: float = Field(
        0.0,
        description=(
            "Priority a waiting contact gains per minute, so a low-priority contact is not "
            "starved by a stream of higher ones: its effective priority is priority + minutes "
            "waited x ageingPerMinute. 0: no ageing."
        ),
        ge=0.0,
        le=1000.0,
    )
    overflow: list[Overflow] = Field(
        default_factory=list,
        json_schema_extra={"default": []},
        description=(
            "Queues whose agents may also take the contact, each after its own wait, in order "
            "(for example a wider skill group, then the default queue)."
        ),
        max_length=MAX_OVERFLOWS,
    )


class Routing(ApiModel):
    """Skills-based routing of contacts to agents."""

    RULES = (
        Rule(
            "self.queues.all(q, q.skills.all(s, s.name in self.skills))",
            "routing.queues[].skills may only name skills of routing.skills",
            lambda routing: all(
                requirement.name in routing.skills
                for queue in routing.queues
                for requirement in queue.skills
            ),
        ),
        Rule(
            "self.queues.all(q, q.overflow.all(o, self.queues.exists(r, r.name == o.queue)))",
            "routing.queues[].overflow may only name queues of routing.queues",
            lambda routing: all(
                step.queue in {queue.name for queue in routing.queues}
                for queue in routing.queues
                for step in queue.overflow
            ),
        ),
        Rule(
            "!has(self.defaultQueue) || self.queues.exists(q, q.name == self.defaultQueue)",
            "routing.defaultQueue must name a queue of routing.queues",
            lambda routing: (
                routing.default_queue is None
                or routing.default_queue in {queue.name for queue in routing.queues}
            ),
        ),
    )

    skills: Annotated[
        list[SkillName],
        Rule(
            "self.all(s, self.exists_one(t, t == s))",
            "routing.skills must be unique",
            lambda skills: len(set(skills)) == len(skills),
        ),
    ] = Field(
        default_factory=list,
        json_schema_extra={"default": []},
        description=(
            "The skill catalogue: the skills agents declare (with a level) when they sign in "
            "and queues may require."
        ),
        max_length=MAX_SKILLS,
    )
    queues: Annotated[
        list[RoutingQueue],
        unique_names("routing.queues"),
        Rule(
            "self.all(q, self.exists_one(r, r.priority == q.priority))",
            "routing.queues priorities must be unique: a contact several queues select joins "
            "the one of highest priority",
            lambda queues: len({queue.priority for queue in queues}) == len(queues),
        ),
    ] = Field(
        description=f"The queues, 1 to {MAX_QUEUES}.",
        min_length=1,
        max_length=MAX_QUEUES,
    )
    default_queue: QueueName | None = Field(
        None,
        description=(
            "The queue of contacts no selector takes. Unset: such contacts are offered to any "
            "agent with room, longest idle first, at priority 0."
        ),
    )
