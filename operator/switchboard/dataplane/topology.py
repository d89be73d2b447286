"""Names and arguments of the contact center's exchanges and queues on the broker (pure).

Everything is prefixed with `<namespace>.<contact center>` so several contact centers can share
an external broker (docs/dataplane.md, "The bus").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A message redelivered this often is poison (it fails every consumer): dead-lettered, kept.
DELIVERY_LIMIT = 20


@dataclass(frozen=True)
class Topology:
    prefix: str

    @property
    def work_exchange(self) -> str:
        """Direct exchange of the work queues."""
        return f"{self.prefix}.work"

    @property
    def deliveries_exchange(self) -> str:
        """Topic exchange of the nudges to whoever holds a client's connection."""
        return f"{self.prefix}.deliveries"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.dead"

    def bot_queue(self, track: str, *, admitted: bool) -> str:
        """Customer messages for the bot of `track`: of admitted conversations, or of new
        ones waiting for a bot slot."""
        return f"{self.prefix}.bot.{track}" + ("" if admitted else ".new")

    def webhook_queue(self, channel: str) -> str:
        """Replies to post: of an `api` channel to its conversations' webhooks, of an `sms`,
        `whatsapp` or `social` channel to its provider."""
        return f"{self.prefix}.webhooks.{channel}"

    def work_queue_arguments(self) -> dict[str, Any]:
        """Durable, replicated, and dead-lettering what no consumer can handle."""
        return {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-delivery-limit": DELIVERY_LIMIT,
        }


def customer_deliveries(channel: str) -> str:
    """Routing key of what a channel's customers are shown."""
    return f"customer.{channel}"


def agent_deliveries(kind: str) -> str:
    """Routing key of what agents are shown: `queue` changes, `offer`s, `message`s, `ended`."""
    return f"agent.{kind}"


ALL_AGENT_DELIVERIES = "agent.#"
