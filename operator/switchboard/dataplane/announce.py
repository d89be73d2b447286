"""Telling the people in a conversation that a message was stored: one function every role
calls after its transaction committed, so nobody is told of a message the store does not have.

- the customer's gateways (every replica of the conversation's channel) get a delivery;
- an `api` conversation with a webhook, or a conversation of a provider channel (sms, whatsapp,
  social) or of an email channel, gets the message posted there (to the provider, or mailed),
  exactly once: as work on the channel's webhook queue, which one gateway replica takes;
- the agent who has or is offered the conversation gets it through the agents tier.
"""

from __future__ import annotations

from switchboard.api.channels import POSTED_CHANNEL_TYPES
from switchboard.dataplane.conversation import State
from switchboard.dataplane.envelope import AgentNudge, Delivery
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Conversation, Message
from switchboard.dataplane.topology import agent_deliveries, customer_deliveries

AGENT_STATES = frozenset({State.OFFERED, State.AGENT})
ENDED_STATES = frozenset({State.RESOLVED, State.ABANDONED})


def delivery(conversation: Conversation, message: Message) -> Delivery:
    return Delivery(
        conversation=conversation.id,
        channel=conversation.channel,
        seq=message.seq,
        id=message.id,
        sender=message.sender,
        author=message.author,
        text=message.body,
        at=message.created_at.isoformat(),
        ended=conversation.state if conversation.state in ENDED_STATES else None,
    )


async def announce(runtime: Runtime, conversation: Conversation, message: Message) -> None:
    """Publishes what the customer, their webhook and their agent should see of `message`."""
    envelope = delivery(conversation, message)
    await runtime.bus.publish_delivery(customer_deliveries(conversation.channel), envelope)
    posted = conversation.webhook or conversation.channel_type in POSTED_CHANNEL_TYPES
    if posted and message.sender != "customer":
        await runtime.bus.publish_work(
            runtime.topology.webhook_queue(conversation.channel), envelope, str(message.id)
        )
    if conversation.state in AGENT_STATES:
        await runtime.bus.publish_delivery(
            agent_deliveries("message"),
            AgentNudge(
                kind="message",
                conversation=conversation.id,
                agent=conversation.agent_id,
                delivery=envelope,
            ),
        )
