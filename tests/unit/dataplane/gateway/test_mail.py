"""A customer's mail is read for what they wrote now, continues the conversation it answers, and
our reply threads under it; on real RFC 5322 mails as clients send them."""

import smtplib
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from switchboard.dataplane.gateway.mail import (
    MAX_REFERENCES,
    Candidate,
    MailRefused,
    Reply,
    Thread,
    continued,
    conversation_id,
    html_text,
    read_mail,
    reply_mail,
    trim_quoted,
)
from switchboard.dataplane.gateway.smtp import relay_verdict
from switchboard.dataplane.gateway.webhook import Verdict

# A first mail from Thunderbird: plain text, a signature.
FIRST = b"""\
Return-Path: <Jane.Doe@Example.ORG>
Message-ID: <8f2c1a7e-55aa-4c1b-9c3e-1f0d2e3a4b5c@example.org>
Date: Mon, 30 Nov 2026 18:00:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: Jane Doe <Jane.Doe@Example.ORG>
To: help@shop.example
Subject: Where is my   parcel?
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Hello,

my order 1234 has not arrived. Can you check?

--=20
Jane Doe
Example Org
""".replace(b"--=20", b"-- ")

# Gmail's answer to our reply: multipart/alternative, quoted history in both parts.
GMAIL_REPLY = b"""\
MIME-Version: 1.0
References: <8f2c1a7e-55aa-4c1b-9c3e-1f0d2e3a4b5c@example.org>
 <0a6b8c1e-0000-4000-8000-000000000001@shop.example>
In-Reply-To: <0a6b8c1e-0000-4000-8000-000000000001@shop.example>
From: Jane Doe <jane.doe@example.org>
Date: Mon, 30 Nov 2026 18:05:00 +0100
Message-ID: <CAFx9=reply+1@mail.gmail.com>
Subject: Re: Where is my parcel?
To: Assistant <help@shop.example>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3"

--000000000000a1b2c3
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Thanks, it says =E2=80=9Cin transit=E2=80=9D since Monday.

On Mon, 30 Nov 2026 at 18:01, Assistant <help@shop.example> wrote:

> Your parcel is on its way.
>
--000000000000a1b2c3
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Thanks, it says &ldquo;in transit&rdquo; since Monday.</div>
--000000000000a1b2c3--
"""

# An HTML-only mail (a web form mailer) with a style block and entities.
HTML_ONLY = b"""\
From: "Max Mustermann" <max@example.de>
To: help@shop.example
Subject: =?UTF-8?Q?R=C3=BCckgabe?=
Message-ID: <html-1@example.de>
MIME-Version: 1.0
Content-Type: text/html; charset=UTF-8

<html><head><style>p {color: red}</style></head><body>
<p>I&nbsp;want to return <b>2</b> items &amp; get a refund.</p>
<p>Thanks</p>
<blockquote>an older mail</blockquote>
</body></html>
"""

# Outlook: the history below a separator, no Message-ID (some relays leave it out).
OUTLOOK = b"""\
From: Bob <bob@corp.example>
To: help@shop.example
Subject: RE: invoice
Content-Type: text/plain; charset=us-ascii

Please resend the invoice.

-----Original Message-----
From: Assistant <help@shop.example>
Sent: Monday, November 30, 2026 6:01 PM
Subject: invoice

Here is your invoice.
"""


def test_a_first_mail_is_the_senders_text_without_the_signature() -> None:
    mail = read_mail(FIRST)
    assert mail.message_id == "8f2c1a7e-55aa-4c1b-9c3e-1f0d2e3a4b5c@example.org"
    assert mail.sender == "jane.doe@example.org"
    assert mail.subject == "Where is my parcel?"
    assert mail.text == "Hello,\n\nmy order 1234 has not arrived. Can you check?"
    assert mail.references == ()


def test_a_reply_prefers_the_plain_part_drops_the_quote_and_names_what_it_answers() -> None:
    mail = read_mail(GMAIL_REPLY)
    assert mail.text == "Thanks, it says \u201cin transit\u201d since Monday."
    assert mail.references == (
        "0a6b8c1e-0000-4000-8000-000000000001@shop.example",
        "8f2c1a7e-55aa-4c1b-9c3e-1f0d2e3a4b5c@example.org",
    )


def test_an_html_only_mail_is_stripped_to_its_text() -> None:
    mail = read_mail(HTML_ONLY)
    assert mail.subject == "R\u00fcckgabe"
    assert mail.text == "I want to return 2 items & get a refund.\n\nThanks"


def test_outlooks_history_is_trimmed_and_a_mail_without_message_id_is_known_by_its_digest() -> None:
    mail = read_mail(OUTLOOK)
    assert mail.text == "Please resend the invoice."
    assert mail.message_id.startswith("sha256:")
    assert read_mail(OUTLOOK).message_id == mail.message_id
    assert read_mail(OUTLOOK.replace(b"resend", b"re-send")).message_id != mail.message_id


@pytest.mark.parametrize(
    ("raw", "reply"),
    [
        (FIRST.replace(b"From: Jane Doe <Jane.Doe@Example.ORG>\n", b""), "550 5.1.7"),
        (FIRST.split(b"\n\n", 1)[0] + b"\n\n> only a quote\n", "550 5.6.0"),
        (FIRST.split(b"\n\n", 1)[0] + b"\n\n" + b"word " * 401, "552 5.3.4"),
    ],
    ids=["no sender", "no text of its own", "text over 2000 characters"],
)
def test_a_mail_without_sender_or_text_or_with_too_much_text_is_refused(
    raw: bytes, reply: str
) -> None:
    with pytest.raises(MailRefused) as refused:
        read_mail(raw)
    assert refused.value.reply.startswith(reply)


def test_an_attribution_wrapped_over_two_lines_goes_with_the_quote() -> None:
    text = (
        "Yes please.\n\nOn Mon, 30 Nov 2026 at 18:01, Assistant\n<help@shop.example> wrote:\n> hi"
    )
    assert trim_quoted(text) == "Yes please."
    assert trim_quoted("On second thought, cancel it.") == "On second thought, cancel it."


def test_html_blocks_become_lines() -> None:
    assert html_text("<div>one</div><div>two<br>three</div><script>x()</script>") == (
        "\none\n\ntwo\nthree"
    )


OURS = uuid.UUID("0a6b8c1e-0000-4000-8000-000000000001")
THEIRS = uuid.UUID("5b0e2d1c-0000-4000-8000-000000000002")


def test_a_mail_continues_the_open_conversation_of_its_sender_that_it_answers_most_recently() -> (
    None
):
    older, newer = uuid.uuid4(), uuid.uuid4()
    candidates = [
        Candidate("a@x", older, "jane@example.org", True),
        Candidate("b@x", newer, "jane@example.org", True),
    ]
    assert continued(["b@x", "a@x"], candidates, "jane@example.org") == newer
    assert continued(["zzz", "a@x"], candidates, "jane@example.org") == older
    # Someone else quoting Jane's thread, or an ended conversation, starts a new one.
    assert continued(["b@x"], candidates, "mallory@example.net") is None
    ended = [Candidate("b@x", newer, "jane@example.org", False)]
    assert continued(["b@x"], ended, "jane@example.org") is None
    assert continued([], candidates, "jane@example.org") is None


def test_a_retried_mail_starts_the_same_conversation_on_its_channel_only() -> None:
    assert conversation_id("mail", "m@x") == conversation_id("mail", "m@x")
    assert conversation_id("mail", "m@x") != conversation_id("other", "m@x")


def _reply(thread: Thread, sender: str = "bot", author: str | None = "Assistant") -> EmailMessage:
    at = datetime(2026, 11, 30, 17, 1, 2, tzinfo=UTC)
    mail = reply_mail(
        "help@shop.example",
        "jane.doe@example.org",
        thread,
        Reply(OURS, sender, author, "Your parcel is on its way.", at),
    )
    # As the customer's client reads it off the wire.
    read = BytesParser(policy=policy.default).parsebytes(mail.as_bytes())
    assert isinstance(read, EmailMessage)
    return read


def test_a_reply_is_threaded_under_the_customers_last_mail() -> None:
    thread = Thread(
        subject="Where is my parcel?",
        message_ids=("first@example.org", f"{THEIRS}@shop.example", "second@example.org"),
        last_received="second@example.org",
    )
    mail = _reply(thread)
    assert mail["Subject"] == "Re: Where is my parcel?"
    assert mail["From"].addresses[0].addr_spec == "help@shop.example"
    assert mail["From"].addresses[0].display_name == "Assistant"
    assert mail["To"] == "jane.doe@example.org"
    assert mail["Message-ID"] == f"<{OURS}@shop.example>"
    assert mail["In-Reply-To"] == "<second@example.org>"
    assert mail["References"].split() == [
        "<first@example.org>",
        f"<{THEIRS}@shop.example>",
        "<second@example.org>",
    ]
    assert mail["Date"] == "Mon, 30 Nov 2026 17:01:02 +0000"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content().strip() == "Your parcel is on its way."
    # Answering it, the customer's client names it: the thread goes on.
    answer = read_mail(
        b"From: jane.doe@example.org\nSubject: "
        + mail["Subject"].encode()
        + b"\nIn-Reply-To: "
        + mail["Message-ID"].encode()
        + b"\nReferences: "
        + mail["References"].encode()
        + b" "
        + mail["Message-ID"].encode()
        + b"\n\nthanks\n"
    )
    assert answer.references[0] == f"{OURS}@shop.example"
    assert answer.subject == "Re: Where is my parcel?"


def test_re_is_not_repeated_and_an_agents_reply_is_not_marked_automatic() -> None:
    thread = Thread("RE: invoice", ("a@b",), "a@b")
    mail = _reply(thread, sender="agent", author="Dana")
    assert mail["Subject"] == "RE: invoice"
    assert mail["Auto-Submitted"] is None
    assert _reply(Thread("", (), None))["Subject"] == "Re: your message"
    assert _reply(Thread("", (), None))["In-Reply-To"] is None


def test_a_long_threads_references_keep_its_first_mail_and_the_latest_ones() -> None:
    ids = tuple(f"m{n}@x" for n in range(50))
    references = _reply(Thread("s", ids, ids[-1]))["References"].split()
    assert len(references) == MAX_REFERENCES
    assert references[0] == "<m0@x>" and references[-1] == "<m49@x>"
    assert references[1] == f"<m{50 - MAX_REFERENCES + 1}@x>"


def test_the_relays_answer_decides_between_sent_again_later_and_never() -> None:
    assert relay_verdict(None) is Verdict.DELIVERED
    assert relay_verdict(ConnectionRefusedError()) is Verdict.RETRY
    assert relay_verdict(smtplib.SMTPServerDisconnected()) is Verdict.RETRY
    assert relay_verdict(smtplib.SMTPDataError(451, b"try later")) is Verdict.RETRY
    assert relay_verdict(smtplib.SMTPDataError(554, b"spam")) is Verdict.DROP
    assert relay_verdict(smtplib.SMTPAuthenticationError(535, b"bad login")) is Verdict.RETRY
    refused = {"a@b": (550, b"no such user")}
    assert relay_verdict(smtplib.SMTPRecipientsRefused(refused)) is Verdict.DROP
    greylisted = {"a@b": (450, b"greylisted")}
    assert relay_verdict(smtplib.SMTPRecipientsRefused(greylisted)) is Verdict.RETRY
