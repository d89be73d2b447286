"""The store's record of an email channel's mails (migration 8): the Message-ID of each mail
of a conversation, the customer's and ours, and whether the relay took ours."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from switchboard.dataplane.gateway.mail import Candidate, InboundMail, Thread
from switchboard.dataplane.store import Connection, Store


async def record_received(
    connection: Connection, conversation: uuid.UUID, message: uuid.UUID, mail: InboundMail
) -> None:
    """Records the customer's mail that became `message` (again: nothing changes)."""
    await connection.execute(
        "INSERT INTO mails (message_id, conversation_id, mail_id, subject, received) "
        "VALUES ($1, $2, $3, $4, true) ON CONFLICT (message_id) DO NOTHING",
        message,
        conversation,
        mail.message_id,
        mail.subject,
    )


class Mails:
    """One email channel's mails in the store."""

    def __init__(self, store: Store, channel: str) -> None:
        self.store = store
        self.channel = channel

    async def candidates(self, mail_ids: Sequence[str]) -> list[Candidate]:
        """The conversations on this channel that mails of these Message-IDs belong to."""
        if not mail_ids:
            return []
        async with self.store.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT m.mail_id, c.id, c.customer, "
                "c.state IN ('bot', 'queued', 'offered', 'agent') AS open "
                "FROM mails m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE m.mail_id = ANY($1::text[]) AND c.channel = $2",
                list(mail_ids),
                self.channel,
            )
        return [Candidate(row["mail_id"], row["id"], row["customer"], row["open"]) for row in rows]

    async def thread(self, conversation: uuid.UUID) -> Thread:
        """The conversation's mails so far, oldest first."""
        async with self.store.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT mail_id, subject, received FROM mails "
                "WHERE conversation_id = $1 AND (received OR sent_at IS NOT NULL) "
                "ORDER BY created_at, mail_id",
                conversation,
            )
        received = [row for row in rows if row["received"]]
        return Thread(
            subject=received[0]["subject"] if received else "",
            message_ids=tuple(row["mail_id"] for row in rows),
            last_received=received[-1]["mail_id"] if received else None,
        )

    async def was_sent(self, message: uuid.UUID) -> bool:
        async with self.store.pool.acquire() as connection:
            sent = await connection.fetchval(
                "SELECT sent_at IS NOT NULL FROM mails WHERE message_id = $1", message
            )
        return bool(sent)

    async def record_sent(
        self, conversation: uuid.UUID, message: uuid.UUID, mail_id: str, subject: str
    ) -> None:
        """Records that the relay took our mail for `message`: it is not sent again."""
        async with self.store.pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO mails (message_id, conversation_id, mail_id, subject, received, "
                "sent_at) VALUES ($1, $2, $3, $4, false, now()) "
                "ON CONFLICT (message_id) DO UPDATE SET sent_at = now()",
                message,
                conversation,
                mail_id,
                subject,
            )
