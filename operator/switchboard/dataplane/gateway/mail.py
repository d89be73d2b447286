"""The mail of an `email` channel, pure (docs/dataplane.md, "email protocol"): a received mail
read as a customer message, which conversation it continues, and the mail a reply becomes.

A customer's mail is read for its text: the plain part if there is one, else the HTML part
stripped to text, with the quoted history of earlier mails and the signature cut off (what the
customer wrote now is what the bot and the agent need). A reply is threaded under the
customer's last mail (In-Reply-To, References) so their mail client shows one thread.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from html.parser import HTMLParser

from switchboard.dataplane.gateway.protocol import MAX_TEXT_CHARS

MAX_REFERENCES = 20
"""The References of a reply: the thread's first mail and its latest ones, at most this many
(long threads would otherwise grow every header without bound)."""
CONVERSATIONS = uuid.UUID("4d1c9a52-7b3e-4f0a-a6e2-93c5d8b1e0f7")
"""Namespace of the ids of conversations a mail starts (uuid5)."""

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_ATTRIBUTION = re.compile(r"^(On\b.{0,300}\bwrote:|Am\b.{0,300}\bschrieb\b.{0,200}:)\s*$")
_OUTLOOK_SEPARATORS = ("-----Original Message-----", "________________________________")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
)


class MailRefused(ValueError):
    """A mail the gateway does not take, with the SMTP reply that says why."""

    def __init__(self, status: int, enhanced: str, message: str) -> None:
        super().__init__(message)
        self.reply = f"{status} {enhanced} {message}"


@dataclass(frozen=True)
class InboundMail:
    """A customer's mail, as the conversation needs it."""

    message_id: str
    """Its Message-ID without the angle brackets (or, for a mail without one, a digest of the
    mail: a relay's retry of it is the same mail)."""
    sender: str
    """The address of its From, lower-cased: the conversation's customer."""
    subject: str
    text: str
    references: tuple[str, ...]
    """The Message-IDs it answers, the most recent first: In-Reply-To, then References from
    the last to the first."""


@dataclass(frozen=True)
class Candidate:
    """A conversation a referenced Message-ID belongs to."""

    message_id: str
    conversation: uuid.UUID
    customer: str
    open: bool


@dataclass(frozen=True)
class Thread:
    """What a reply is threaded under: the conversation's mails so far."""

    subject: str
    """The subject of the mail that started the conversation."""
    message_ids: tuple[str, ...]
    """The Message-IDs of the conversation's mails, in order (theirs and ours)."""
    last_received: str | None
    """The Message-ID of the customer's latest mail: what the reply answers."""


def read_mail(raw: bytes) -> InboundMail:
    """The customer message in a mail, or MailRefused: no sender, no text, or too much text."""
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)  # the default policy's message class
    sender = parseaddr(str(mail.get("From", "")))[1].strip().lower()
    if "@" not in sender or len(sender) > 200:
        raise MailRefused(550, "5.1.7", "the mail has no sender address in From")
    text = trim_quoted(_body_text(mail))
    if not text:
        raise MailRefused(550, "5.6.0", "the mail has no text (above any quoted mail)")
    if len(text) > MAX_TEXT_CHARS:
        raise MailRefused(
            552,
            "5.3.4",
            f"the mail's text is {len(text)} characters; at most {MAX_TEXT_CHARS} are taken",
        )
    found = message_ids(str(mail.get("Message-ID", "")))
    replied = message_ids(str(mail.get("In-Reply-To", "")))
    referenced = message_ids(str(mail.get("References", "")))
    return InboundMail(
        message_id=found[0] if found else "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender=sender,
        subject=" ".join(str(mail.get("Subject", "")).split()),
        text=text,
        references=tuple(dict.fromkeys([*replied, *reversed(referenced)])),
    )


def message_ids(header: str) -> list[str]:
    """The Message-IDs in a header (`<a@b> <c@d>`), without their angle brackets."""
    return _MESSAGE_ID.findall(header)


def _body_text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    return html_text(content) if part.get_content_subtype() == "html" else content


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skipping += 1
        if tag == "blockquote":
            self._quoted += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skipping = max(0, self._skipping - 1)
        if tag == "blockquote":
            self._quoted = max(0, self._quoted - 1)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping and not self._quoted:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The text of an HTML mail part: no markup, scripts, styles or quoted blocks; a line per
    block element."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(lines)


def trim_quoted(text: str) -> str:
    """What the customer wrote now: the text above the quoted history of earlier mails (an
    attribution line such as "On ... wrote:", an Outlook separator, `>` lines) and above the
    signature (`-- `), with blank runs collapsed."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">") or line == "-- " or stripped in _OUTLOOK_SEPARATORS:
            break
        if _ATTRIBUTION.match(stripped):
            break
        kept.append(line.rstrip())
    # An attribution wrapped over several lines is the last paragraph kept.
    while kept and not kept[-1]:
        kept.pop()
    start = max((n + 1 for n, line in enumerate(kept) if not line), default=0)
    if _ATTRIBUTION.match(" ".join(" ".join(kept[start:]).split())):
        del kept[start:]
    collapsed = re.sub(r"\n{3,}", "\n\n", "\n".join(kept))
    return collapsed.strip()


def continued(
    references: Sequence[str], candidates: Sequence[Candidate], sender: str
) -> uuid.UUID | None:
    """The conversation a mail continues: the open conversation of its sender that the most
    recent of its references belongs to; None: it starts a new one. A reference to another
    customer's conversation, or to an ended one, does not continue it."""
    by_id = {candidate.message_id: candidate for candidate in candidates}
    for reference in references:
        candidate = by_id.get(reference)
        if candidate is not None and candidate.customer == sender and candidate.open:
            return candidate.conversation
    return None


def conversation_id(channel: str, mail_id: str) -> uuid.UUID:
    """The id of the conversation a mail starts: the same for a relay's retry of it."""
    return uuid.uuid5(CONVERSATIONS, f"{channel}/{mail_id}")


def reply_message_id(message: uuid.UUID, address: str) -> str:
    """The Message-ID of our mail for a message: its id at the channel's domain."""
    return f"{message}@{address.rpartition('@')[2]}"


def reply_subject(subject: str) -> str:
    """`Re: <original>`, once."""
    if re.match(r"(?i)re\s*:", subject):
        return subject
    return f"Re: {subject}" if subject else "Re: your message"


def thread_references(message_ids: Sequence[str]) -> list[str]:
    """The References of a reply in a thread of these mails: the first and the latest ones."""
    if len(message_ids) <= MAX_REFERENCES:
        return list(message_ids)
    return [message_ids[0], *message_ids[-(MAX_REFERENCES - 1) :]]


@dataclass(frozen=True)
class Reply:
    """A bot, agent or system message of the conversation, to be mailed to the customer."""

    message: uuid.UUID
    sender: str
    """bot, agent or system."""
    author: str | None
    text: str
    at: datetime


def reply_mail(address: str, customer: str, thread: Thread, reply: Reply) -> EmailMessage:
    """The mail that brings `reply` to the customer, threaded under their last mail."""
    mail = EmailMessage(policy=policy.SMTP)
    local, _, domain = address.rpartition("@")
    sender = Address(display_name=reply.author or "", username=local, domain=domain)
    mail["From"] = sender
    mail["To"] = customer
    mail["Subject"] = reply_subject(thread.subject)
    mail["Date"] = format_datetime(reply.at)
    mail["Message-ID"] = f"<{reply_message_id(reply.message, address)}>"
    if thread.last_received is not None:
        mail["In-Reply-To"] = f"<{thread.last_received}>"
    references = thread_references(thread.message_ids)
    if references:
        mail["References"] = " ".join(f"<{reference}>" for reference in references)
    if reply.sender != "agent":
        # RFC 3834: a machine's answer, which an out-of-office responder must not answer.
        mail["Auto-Submitted"] = "auto-replied"
    mail.set_content(reply.text)
    return mail
