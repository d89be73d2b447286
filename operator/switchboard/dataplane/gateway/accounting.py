"""What a customer's leaving counts in the metrics contract (pure; docs/metrics.md).

The gateway is where a customer leaves, so it counts what their leaving ends: an abandonment of
the tier they were waiting for (and how long they waited: from their arrival for the bot, from
the handoff for an agent), or the end of the time a tier spent with them (the bot's, from
admission; an agent's, from their accept), and a resolution: a conversation the bot contained,
or one an agent had. Times come from the database's clock, read in the transaction that ended
the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from switchboard.contract import ContractMetrics, Handler
from switchboard.dataplane.conversation import Departure, State, Step
from switchboard.dataplane.store import Conversation

AGENT_SIDE = frozenset({State.QUEUED, State.OFFERED, State.AGENT})
"""States in which the agents tier holds the conversation (and must hear that it ended)."""


@dataclass(frozen=True)
class Tally:
    channel: str
    model_version: str
    abandoned: tuple[Handler, float] | None = None
    """The tier whose queue the customer abandoned, and how long they had waited."""
    handled: tuple[Handler, float] | None = None
    """The tier whose time with the customer ended, and how long it was."""
    contained: bool = False
    """The bot handled the conversation alone."""
    resolved: bool = False
    """The customer left after an answer: the bot's (contained) or with an agent."""
    tell_agents: bool = False
    """The agents tier held the conversation: it must drop it from queues and desktops."""

    def record(self, metrics: ContractMetrics) -> None:
        if self.abandoned is not None:
            metrics.abandoned(self.channel, *self.abandoned)
        if self.handled is not None:
            metrics.handled(self.channel, *self.handled)
        if self.contained:
            metrics.bot_outcome(self.model_version, "contained")
        if self.resolved:
            metrics.resolved(self.channel)


def _seconds(since: datetime | None, until: datetime) -> float | None:
    return None if since is None else max(0.0, (until - since).total_seconds())


def tally(conversation: Conversation, leaving: Departure, ended_at: datetime) -> Tally:
    """What `conversation` (as it was when the customer left) counts, ending at `ended_at`."""
    handled: tuple[Handler, float] | None = None
    if conversation.state is State.BOT:
        # The bot's time runs from admission, whether it ends contained or abandoned.
        bot_time = _seconds(conversation.admitted_at, ended_at)
        handled = None if bot_time is None else ("bot", bot_time)
    elif conversation.state is State.AGENT:
        agent_time = _seconds(conversation.accepted_at, ended_at)
        handled = None if agent_time is None else ("agent", agent_time)
    abandoned: tuple[Handler, float] | None = None
    if leaving.step is Step.ABANDON:
        if leaving.waiting_for == "agent":
            abandoned = ("agent", _seconds(conversation.queued_at, ended_at) or 0.0)
        else:
            abandoned = ("bot", _seconds(conversation.created_at, ended_at) or 0.0)
    return Tally(
        channel=conversation.channel,
        model_version=conversation.model_version,
        abandoned=abandoned,
        handled=handled,
        contained=leaving.contained,
        resolved=leaving.step is Step.RESOLVE,
        tell_agents=conversation.state in AGENT_SIDE,
    )
