"""The `email` channel: customers' mail in over SMTP (the gateway's own SMTP server), our replies
out through the channel's relay (docs/dataplane.md, "email protocol").

A received mail becomes a customer message (`mail.read_mail`): in the conversation one of the
Message-IDs it answers belongs to (`mail.continued`), else in a new one. Its id on our side is
derived from its Message-ID, so a relay that retries it stores nothing twice; the message and
the record of its Message-ID are stored in one transaction before the message is handed on, so
a reply is never threaded without it. Every bot, agent or system message of the channel's
conversations is work on the channel's webhook queue: one replica mails it through the relay,
threaded under the customer's last mail, and records it as sent; a relay that is down is tried
again with the webhooks' back-off, and a message recorded as sent is not mailed again.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from datetime import datetime
from email.message import EmailMessage

import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import ValidationError

from switchboard.dataplane.envelope import Delivery
from switchboard.dataplane.gateway.conversations import OUTAGES, Conversations
from switchboard.dataplane.gateway.mail import (
    InboundMail,
    MailRefused,
    Reply,
    continued,
    conversation_id,
    read_mail,
    reply_mail,
    reply_message_id,
    reply_subject,
)
from switchboard.dataplane.gateway.mails import Mails, record_received
from switchboard.dataplane.gateway.protocol import Code, ProtocolError
from switchboard.dataplane.gateway.provider import message_id
from switchboard.dataplane.gateway.webhook import PREFETCH, Verdict, try_later
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import Conversation, ConversationNotFound, add_message
from switchboard.dataplane.tls import server_ssl_context
from switchboard.dataplane.wiring import EmailWiring

logger = logging.getLogger(__name__)

MAX_MAIL_BYTES = 10 * 1024 * 1024
"""The largest mail taken (attachments included; only the text is kept): larger is refused
with 552 during DATA."""
RELAY_TIMEOUT_SECONDS = 30.0
TRY_AGAIN = "451 4.3.0 the contact center is briefly unavailable; try again later"


def relay_verdict(error: Exception | None) -> Verdict:
    """What a relay's answer means for the message: sent, try again later (no answer, a
    temporary refusal, our login refused: the relay or its configuration may come back), or
    never (the relay refused the mail itself or its recipient for good)."""
    if error is None:
        return Verdict.DELIVERED
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return Verdict.RETRY if any(400 <= code < 500 for code in codes) else Verdict.DROP
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return Verdict.RETRY
    if isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600:
        return Verdict.DROP
    return Verdict.RETRY


class Inbox:
    """aiosmtpd's handler: a mail for the channel's address becomes a customer message."""

    def __init__(self, conversations: Conversations, address: str) -> None:
        self.conversations = conversations
        self.address = address.lower()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Not an open relay: mail for anyone else is refused.
        if address.lower() != self.address:
            return f"550 5.1.1 no mailbox {address} here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode()
        try:
            mail = read_mail(raw)
            conversation, seq = await self.receive(mail)
        except MailRefused as refused:
            logger.info("refused a mail: %s", refused.reply)
            return refused.reply
        except ProtocolError as problem:
            if problem.code is Code.UNAVAILABLE:
                return TRY_AGAIN
            return f"550 5.7.0 {problem}"
        except (*OUTAGES, asyncpg.UniqueViolationError, ConversationNotFound) as error:
            # A unique violation: a retry of this mail racing the original; the next try finds
            # it stored. A conversation gone meanwhile: the next try starts a new one.
            logger.warning("could not store a mail now: %s", error)
            return TRY_AGAIN
        return f"250 2.0.0 message {seq} of conversation {conversation}"

    async def receive(self, mail: InboundMail) -> tuple[uuid.UUID, int]:
        """Stores the mail's text as the customer's message and hands it on; a mail stored
        before is handed on again while unanswered, and stored once."""
        channel = self.conversations.channel.channel
        ours = message_id(channel, mail.message_id)
        store = self.conversations.runtime.store
        placed = await store.message_place(ours)
        if placed is not None:
            await self.conversations.hand_on_again(*placed, ours, mail.text)
            return placed
        mails = Mails(store, channel)
        existing = continued(mail.references, await mails.candidates(mail.references), mail.sender)
        if existing is not None:
            try:
                return await self._store(await self.conversations.find(existing), ours, mail)
            except ConversationNotFound:
                pass  # it ended since: the mail starts the next one
        started, _ = await self.conversations.start(
            conversation_id(channel, mail.message_id),
            customer=mail.sender,
            attributes={},
            webhook=None,
        )
        return await self._store(started, ours, mail)

    async def _store(
        self, conversation: Conversation, ours: uuid.UUID, mail: InboundMail
    ) -> tuple[uuid.UUID, int]:
        store = self.conversations.runtime.store
        async with store.transaction() as connection:
            await add_message(connection, conversation.id, ours, "customer", None, mail.text)
            await record_received(connection, conversation.id, ours, mail)
        # Stored: this finds it (the same seq) and hands it to the bot or the agent.
        message = await self.conversations.send(conversation, ours, mail.text)
        return message.conversation_id, message.seq


class Relay:
    """The channel's outbound SMTP relay."""

    def __init__(self, wiring: EmailWiring) -> None:
        self.wiring = wiring

    async def send(self, mail: EmailMessage) -> Exception | None:
        """Sends the mail; the error that stopped it, or None."""
        try:
            await asyncio.to_thread(self._send, mail)
        except (smtplib.SMTPException, OSError) as error:
            return error
        return None

    def _send(self, mail: EmailMessage) -> None:
        wiring = self.wiring
        with smtplib.SMTP(
            wiring.relay_host, wiring.relay_port, timeout=RELAY_TIMEOUT_SECONDS
        ) as smtp:
            if wiring.relay_start_tls:
                smtp.starttls(context=ssl.create_default_context())
            if wiring.relay_username is not None and wiring.relay_password is not None:
                smtp.login(wiring.relay_username, wiring.relay_password)
            smtp.send_message(mail, from_addr=wiring.address, to_addrs=[str(mail["To"])])


class Outbox:
    """Mails the channel's bot, agent and system messages to their customers."""

    def __init__(self, runtime: Runtime, channel: str, wiring: EmailWiring) -> None:
        self.runtime = runtime
        self.channel = channel
        self.wiring = wiring
        self.mails = Mails(runtime.store, channel)
        self.relay = Relay(wiring)

    async def start(self) -> None:
        queue = self.runtime.topology.webhook_queue(self.channel)
        await self.runtime.bus.consume_work(queue, self.handle, prefetch=PREFETCH)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            delivery = Delivery.model_validate_json(message.body)
        except ValidationError as error:
            logger.error("a mail delivery is malformed, dead-lettering it: %s", error)
            await message.reject(requeue=False)
            return
        try:
            if await self.mails.was_sent(delivery.id):
                await message.ack()  # a redelivery of one the relay took
                return
            conversation = await self.runtime.store.conversation(delivery.conversation)
            thread = await self.mails.thread(delivery.conversation)
        except OUTAGES as error:
            logger.warning("cannot look up a mail now, trying again later: %s", error)
            await try_later(message)
            return
        if conversation is None:
            logger.warning("message %s has no conversation; dropped", delivery.id)
            await message.ack()
            return
        reply = Reply(
            delivery.id,
            delivery.sender,
            delivery.author,
            delivery.text,
            datetime.fromisoformat(delivery.at),
        )
        mail = reply_mail(self.wiring.address, conversation.customer, thread, reply)
        failure = await self.relay.send(mail)
        outcome = relay_verdict(failure)
        if outcome is Verdict.RETRY:
            logger.info("the relay did not take message %s: %s", delivery.id, failure)
            await try_later(message)
            return
        if outcome is Verdict.DROP:
            logger.warning("the relay refused message %s for good: %s", delivery.id, failure)
            await message.ack()
            return
        try:
            await self.mails.record_sent(
                conversation.id,
                delivery.id,
                reply_message_id(delivery.id, self.wiring.address),
                reply_subject(thread.subject),
            )
        except OUTAGES as error:
            # Sent but not recorded: the next try sends it again, under the same Message-ID
            # (mail clients show a Message-ID once).
            logger.warning("could not record message %s as sent: %s", delivery.id, error)
            await try_later(message)
            return
        await message.ack()


class Email:
    """The email adapter of an `email` gateway: the SMTP server and the outbox."""

    def __init__(self, conversations: Conversations, wiring: EmailWiring) -> None:
        self.conversations = conversations
        self.wiring = wiring
        self.inbox = Inbox(conversations, wiring.address)
        self.outbox: Outbox | None = None
        self.server: asyncio.Server | None = None

    async def start(self, runtime: Runtime) -> None:
        self.outbox = Outbox(runtime, self.conversations.channel.channel, self.wiring)
        await self.outbox.start()
        domain = self.wiring.address.rpartition("@")[2]
        # With the gateways' certificate (spec.tls), STARTTLS is offered, not required: a
        # sending server that cannot do TLS still delivers, as between mail servers.
        tls = server_ssl_context(runtime.wiring.tls)
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(
                self.inbox,
                data_size_limit=MAX_MAIL_BYTES,
                enable_SMTPUTF8=True,
                hostname=domain,
                ident="switchboard gateway",
                tls_context=tls,
            ),
            "0.0.0.0",
            self.wiring.smtp_port,
        )
        logger.info("taking mail for %s on port %d", self.wiring.address, self.wiring.smtp_port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
