"""The gateway of an `email` channel as a real process against real PostgreSQL and RabbitMQ:
customers' mail sent to its SMTP port with smtplib, the replies taken by a real SMTP server
process on loopback (aiosmtpd's Mailbox, writing a Maildir) standing in for the relay.

What the customer's mail client relies on is checked from the mail as delivered: the Subject,
In-Reply-To and References that thread it, and that each reply arrives once. The bot is played
by the test (as in the provider channel's tests), except in the last test, where the whole data
plane runs as the operator renders it, with the real bot.
"""

from __future__ import annotations

import asyncio
import mailbox
import smtplib
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.certificates import self_signed
from tests.integration import loadgen_runs
from tests.integration import test_gateway as gateway_tests
from tests.integration.contactcenters import EXAMPLES
from tests.integration.local_data_plane import LocalDataPlane
from tests.integration.test_gateway import Gateway, PlayedBot, _free_port, wait_for

# The gateway tests' fixtures: the gateway process and the played bot.
bot = gateway_tests.bot
routing_file = gateway_tests.routing_file
start_gateway = gateway_tests.start_gateway

ADDRESS = "help@shop.example"
CUSTOMER = "jane.doe@example.org"


class Relay:
    """`python -m aiosmtpd` with the Mailbox handler: a real SMTP server that keeps what it is
    sent in a Maildir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}"),
                *("-c", "aiosmtpd.handlers.Mailbox", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    server = Relay(tmp_path / "maildir")
    mailbox.Maildir(server.directory, create=True)
    server.start()
    yield server
    server.stop()


def _by_arrival(relay: Relay) -> list[EmailMessage]:
    """Every mail the relay took so far, in the order it arrived."""
    box = mailbox.Maildir(relay.directory, create=True)
    parser = BytesParser(policy=policy.default)
    mails = []
    for key in sorted(
        box.iterkeys(), key=lambda key: (relay.directory / "new" / key).stat().st_mtime_ns
    ):
        mail = parser.parsebytes(box.get_bytes(key))
        assert isinstance(mail, EmailMessage)
        mails.append(mail)
    return mails


def mail(
    text: str,
    message_id: str,
    *,
    subject: str = "Where is my parcel?",
    answers: EmailMessage | None = None,
    sender: str = f"Jane Doe <{CUSTOMER}>",
) -> bytes:
    """A customer's mail as a mail client writes it; answering one of ours, it quotes it and
    names it in In-Reply-To and References."""
    written = EmailMessage(policy=policy.SMTP)
    written["From"] = sender
    written["To"] = ADDRESS
    written["Message-ID"] = f"<{message_id}>"
    written["Date"] = "Mon, 30 Nov 2026 18:00:00 +0100"
    if answers is None:
        written["Subject"] = subject
        written.set_content(text)
    else:
        written["Subject"] = f"Re: {answers['Subject'].removeprefix('Re: ')}"
        written["In-Reply-To"] = answers["Message-ID"]
        written["References"] = f"{answers['References']} {answers['Message-ID']}"
        quoted = "\n".join(f"> {line}" for line in answers.get_content().splitlines())
        written.set_content(f"{text}\n\nOn Mon, 30 Nov 2026, Assistant wrote:\n{quoted}\n")
    return written.as_bytes()


async def send(
    port: int, raw: bytes, *, recipient: str = ADDRESS, tls: ssl.SSLContext | None = None
) -> tuple[int, str]:
    """Sends a mail to the gateway with smtplib, after STARTTLS when given a context (which
    the gateway must offer); the gateway's answer to its DATA."""

    def deliver() -> tuple[int, str]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo("mx.example.org")
            if tls is not None:
                assert smtp.has_extn("starttls"), smtp.esmtp_features
                smtp.starttls(context=tls)
                smtp.ehlo("mx.example.org")
            smtp.mail(CUSTOMER)
            code, answer = smtp.rcpt(recipient)
            if code != 250:
                return code, answer.decode()
            code, answer = smtp.data(raw)
            return code, answer.decode()

    return await asyncio.to_thread(deliver)


async def _rows(bot: PlayedBot, sql: str, *args: Any) -> list[Any]:
    async with bot.store.pool.acquire() as connection:
        return [tuple(row) for row in await connection.fetch(sql, *args)]


async def _mails(relay: Relay, count: int) -> list[EmailMessage]:
    async def arrived() -> list[EmailMessage] | None:
        mails = _by_arrival(relay)
        return mails if len(mails) >= count else None

    found: list[EmailMessage] = await wait_for(f"{count} mails at the relay", arrived, within=30)
    return found


@pytest.fixture
async def gateway(
    start_gateway: Callable[..., Awaitable[Gateway]], relay: Relay
) -> AsyncIterator[tuple[Gateway, int]]:
    smtp_port = _free_port()
    started = await start_gateway(
        "email",
        channel="mail",
        SWITCHBOARD_SMTP_PORT=str(smtp_port),
        SWITCHBOARD_EMAIL_ADDRESS=ADDRESS,
        SWITCHBOARD_SMTP_RELAY_HOST="127.0.0.1",
        SWITCHBOARD_SMTP_RELAY_PORT=str(relay.port),
        SWITCHBOARD_SMTP_RELAY_STARTTLS="false",
    )
    yield started, smtp_port


async def test_a_mail_gets_the_bots_reply_threaded_and_the_customers_answer_continues_it(
    gateway: tuple[Gateway, int], bot: PlayedBot, relay: Relay
) -> None:
    _, port = gateway
    first_id = f"{uuid.uuid4()}@example.org"
    code, answer = await send(port, mail("Hello,\n\nmy order 1234 has not arrived.", first_id))
    assert code == 250, answer
    conversation = uuid.UUID(answer.split()[-1])

    [reply] = await _mails(relay, 1)
    assert reply["To"] == CUSTOMER
    assert reply["From"].addresses[0].addr_spec == ADDRESS
    assert reply["Subject"] == "Re: Where is my parcel?"
    assert reply["In-Reply-To"] == f"<{first_id}>"
    assert reply["References"] == f"<{first_id}>"
    assert reply["Message-ID"].endswith("@shop.example>")
    assert reply.get_content().strip() == "you said: Hello,\n\nmy order 1234 has not arrived."

    # The customer answers our reply, quoting it: the same conversation, without the quote.
    second_id = f"{uuid.uuid4()}@example.org"
    code, answer = await send(port, mail("It says in transit.", second_id, answers=reply))
    assert code == 250, answer
    assert answer.split()[-1] == str(conversation)
    replies = await _mails(relay, 2)
    again = replies[1]
    assert again["Subject"] == "Re: Where is my parcel?"
    assert again["In-Reply-To"] == f"<{second_id}>"
    assert again["References"].split() == [f"<{first_id}>", reply["Message-ID"], f"<{second_id}>"]
    assert again.get_content().strip() == "you said: It says in transit."
    transcript = await _rows(
        bot,
        "SELECT seq, sender, body FROM messages WHERE conversation_id = $1 ORDER BY seq",
        conversation,
    )
    assert transcript == [
        (1, "customer", "Hello,\n\nmy order 1234 has not arrived."),
        (2, "bot", "you said: Hello,\n\nmy order 1234 has not arrived."),
        (3, "customer", "It says in transit."),
        (4, "bot", "you said: It says in transit."),
    ]

    # A relay retrying the second mail stores nothing and mails nothing again.
    code, answer = await send(port, mail("It says in transit.", second_id, answers=reply))
    assert code == 250 and answer.split()[-1] == str(conversation), answer
    # A new mail, without references, is a new conversation of the same customer.
    code, answer = await send(port, mail("Another thing", f"{uuid.uuid4()}@example.org"))
    assert code == 250 and answer.split()[-1] != str(conversation)
    await _mails(relay, 3)
    await asyncio.sleep(1.0)  # time for a repeat, if there were one
    assert len(_by_arrival(relay)) == 3
    assert len(bot.turns) == 3
    customers = await _rows(bot, "SELECT DISTINCT customer, channel_type FROM conversations")
    assert customers == [(CUSTOMER, "email")]


async def test_a_reply_waits_for_a_relay_that_is_down_and_is_mailed_once(
    gateway: tuple[Gateway, int], bot: PlayedBot, relay: Relay
) -> None:
    _, port = gateway
    relay.stop()
    code, answer = await send(port, mail("hello?", f"{uuid.uuid4()}@example.org"))
    assert code == 250, answer
    await wait_for("the bot's turn", lambda: _true(len(bot.turns) == 1))
    await asyncio.sleep(2.0)  # a few failed tries, backing off
    assert await _rows(bot, "SELECT message_id FROM mails WHERE sent_at IS NOT NULL") == []
    relay.start()
    [reply] = await _mails(relay, 1)
    assert reply.get_content().strip() == "you said: hello?"
    await asyncio.sleep(1.5)
    assert len(_by_arrival(relay)) == 1
    assert len(await _rows(bot, "SELECT message_id FROM mails WHERE sent_at IS NOT NULL")) == 1


async def _true(value: bool) -> bool:
    return value


async def test_mail_for_others_too_large_or_without_text_is_refused_and_stores_nothing(
    gateway: tuple[Gateway, int], bot: PlayedBot, relay: Relay
) -> None:
    _, port = gateway
    code, answer = await send(port, mail("hi", "a@example.org"), recipient="ceo@shop.example")
    assert (code, answer) == (550, "5.1.1 no mailbox ceo@shop.example here")
    code, answer = await send(port, mail("word " * 500, "b@example.org"))
    assert code == 552 and "at most 2000" in answer, answer
    code, answer = await send(port, mail("> only what they wrote before", "c@example.org"))
    assert code == 550 and "no text" in answer, answer

    def oversized() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo("mx.example.org")
            return smtp.mail(CUSTOMER, [f"SIZE={20 * 1024 * 1024}"])

    code, _ = await asyncio.to_thread(oversized)
    assert code == 552
    assert await _rows(bot, "SELECT id FROM conversations") == []
    assert await _rows(bot, "SELECT id FROM messages") == []


@pytest.mark.parametrize("with_tls", [False, True], ids=["plain", "starttls"])
async def test_the_rendered_data_plane_answers_mail_with_its_bot_model(
    database_uri: str, queue_uri: str, prefix: str, tmp_path: Path, relay: Relay, with_tls: bool
) -> None:
    """An email channel as the operator renders it, run by hack/pods.py (which gives the
    gateway pod its SMTP port), with the real bot and its example model; with `spec.tls`, the
    customer's server delivers after STARTTLS, trusting the gateways' certificate."""
    manifest = loadgen_runs.contact_center(prefix)
    certificate = self_signed("localhost")
    if with_tls:
        manifest["spec"]["tls"] = {"secretRef": {"name": "mail-tls"}}
    manifest["spec"]["channels"] = [
        {
            "name": "mail",
            "type": "email",
            "email": {
                "address": ADDRESS,
                "smtp": {"host": "127.0.0.1", "port": relay.port, "startTLS": False},
            },
        }
    ]
    model = yaml.safe_load((EXAMPLES / "models" / "telco-support-2.0.0.yaml").read_text())
    answer = next(i["response"] for i in model["intents"] if i["name"] == "pay_bill")
    with LocalDataPlane(
        manifest,
        queue_uri=queue_uri,
        database_uri=database_uri,
        directory=tmp_path / "plane",
        provided_secrets={"mail-tls": certificate.secret_data},
    ) as plane:
        plane.wait_ready(timeout=90)
        [pod] = plane.pods("mail")
        first_id = f"{uuid.uuid4()}@example.org"
        trusting = ssl.create_default_context(cadata=certificate.certificate)
        code, taken = await send(
            pod["smtp_port"],
            mail("how do I pay my bill", first_id),
            tls=trusting if with_tls else None,
        )
        assert code == 250, taken
        [reply] = await _mails(relay, 1)
        assert reply.get_content().strip() == answer
        assert (reply["In-Reply-To"], reply["Subject"]) == (
            f"<{first_id}>",
            "Re: Where is my parcel?",
        )
