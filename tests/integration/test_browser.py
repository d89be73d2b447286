"""The customer page and the agent page in a real headless Chromium (Debian's `chromium`, driven
through `chromium-driver` by Selenium), against the quickstart run by the real operator and
hack/pods.py: a customer asks for a person, the bot hands off, an agent signs in with the skill
the queue requires, accepts, replies, the customer sees the reply and answers, the agent
resolves.

The pages are driven by the stable element ids of docs/dataplane.md; what each page shows is
read in one script call, so a re-render between two reads cannot mix two states.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.contactcenters import EXAMPLES
from tests.integration.operated import Operated, assert_one_consistent_log, quickstart

T = TypeVar("T")
HANDOFF = yaml.safe_load((EXAMPLES / "models" / "telco-support-2.0.0.yaml").read_text())[
    "messages"
]["handoff"]
# Chromium as this machine can run it: no sandbox (no user namespaces), no GPU, and nothing
# that reaches for the network on its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WAIT_SECONDS = 20.0

# Each page's transcript as [{seq, id, sender, text}], in the order shown.
CUSTOMER_TRANSCRIPT = """
return [...document.querySelectorAll('#sb-transcript .sb-message')].map(e => ({
    seq: e.dataset.seq, id: e.dataset.id, sender: e.dataset.sender, text: e.textContent}));
"""
AGENT_TRANSCRIPT = """
return [...document.querySelectorAll('#transcript li.message')].map(e => ({
    seq: e.dataset.seq || '', id: e.dataset.id, sender: e.dataset.sender, text: e.textContent,
    pending: e.classList.contains('pending')}));
"""


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `make packages` installs it", pytrace=False)
    return found


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[], WebDriver]]:
    """`browser()` opens a headless Chromium with a profile of its own; all quit afterwards."""
    opened: list[WebDriver] = []

    def launch() -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = program("chromium")
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / f'profile-{len(opened)}'}")
        log = tmp_path / f"chromedriver-{len(opened)}.log"
        driver = webdriver.Chrome(
            options=options, service=Service(program("chromedriver"), log_output=str(log))
        )
        opened.append(driver)
        return driver

    yield launch
    for driver in opened:
        driver.quit()


def until(driver: WebDriver, what: str, probe: Callable[[WebDriver], T]) -> T:
    """Polls `probe` on the page until it returns something truthy; says what it waited
    for, and what the page showed, when it times out."""
    try:
        return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.2).until(probe)
    except WebDriverException as error:
        shown = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(
            f"waited {WAIT_SECONDS:.0f} s for {what}; the page shows:\n{shown}"
        ) from error


def transcript(driver: WebDriver, script: str) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = driver.execute_script(script)
    return shown


def stored_messages(script: str, count: int) -> Callable[[WebDriver], list[dict[str, Any]] | None]:
    """A probe: the page's transcript once it shows at least `count` messages, all stored."""

    def probe(driver: WebDriver) -> list[dict[str, Any]] | None:
        shown = transcript(driver, script)
        return shown if len(shown) >= count and all(m["seq"] for m in shown) else None

    return probe


def write(driver: WebDriver, field: str, text: str, button: str) -> None:
    driver.find_element(By.ID, field).send_keys(text)
    driver.find_element(By.ID, button).click()


def attribute(driver: WebDriver, selector: str, name: str) -> str | None:
    elements = driver.find_elements(By.CSS_SELECTOR, selector)
    return elements[0].get_attribute(name) if elements else None


def assert_each_seq_once(shown: list[dict[str, Any]]) -> None:
    seqs = [int(m["seq"]) for m in shown if m["seq"]]
    assert seqs == sorted(set(seqs)), f"a page showed a message twice or out of order: {seqs}"


async def test_a_customer_and_an_agent_complete_a_conversation_in_chromium(
    operate: Callable[..., Operated], browser: Callable[[], WebDriver]
) -> None:
    # The one queue takes only agents who declare roaming at level 5 or more: the offer
    # reaches Ada only if the page signs her in with the skills she typed.
    center = operate(
        quickstart(
            routing={
                "skills": ["roaming"],
                "queues": [{"name": "roaming", "skills": [{"name": "roaming", "minLevel": 5}]}],
            }
        )
    )

    customer = browser()
    customer.get(center.url("web") + "/")
    write(customer, "sb-input", "I want to talk to a human", "sb-send")
    asked = until(
        customer,
        "the bot's handoff on the customer page",
        stored_messages(CUSTOMER_TRANSCRIPT, 2),
    )
    assert [(m["seq"], m["sender"]) for m in asked] == [("1", "customer"), ("2", "bot")]
    assert HANDOFF in asked[1]["text"]

    agent = browser()
    agent.get(center.url("agents") + "/")
    agent.find_element(By.ID, "token").send_keys(center.token("agents-token"))
    agent.find_element(By.ID, "agent-id").send_keys("ada")
    agent.find_element(By.ID, "display-name").send_keys("Ada")
    capacity = agent.find_element(By.ID, "capacity")
    capacity.clear()
    capacity.send_keys("webchat=2")
    agent.find_element(By.ID, "skills").send_keys("roaming=6")
    agent.find_element(By.ID, "sign-in-button").click()
    until(
        agent,
        "the agent page to connect",
        lambda d: attribute(d, "#connection", "data-state") == "connected",
    )
    conversation = until(
        agent,
        "an offer",
        lambda d: attribute(d, "#offers li[data-conversation]", "data-conversation"),
    )
    agent.find_element(
        By.CSS_SELECTOR, f'button.accept[data-conversation="{conversation}"]'
    ).click()
    until(
        agent,
        "the accepted conversation open in the chat",
        lambda d: (
            attribute(d, "#chat", "data-conversation") == conversation
            and attribute(d, "#chat", "data-state") == "open"
        ),
    )
    # The agent sees the whole transcript: what the customer wrote and the bot answered.
    seen = until(agent, "the transcript", stored_messages(AGENT_TRANSCRIPT, 2))
    assert [(m["seq"], m["id"], m["sender"]) for m in seen[:2]] == [
        (m["seq"], m["id"], m["sender"]) for m in asked
    ]

    write(agent, "reply-text", "Hello, Ada here. How can I help?", "reply-send")
    reply = until(
        customer,
        "the agent's reply on the customer page",
        lambda d: next(
            (m for m in transcript(d, CUSTOMER_TRANSCRIPT) if m["sender"] == "agent"), None
        ),
    )
    assert "Hello, Ada here" in reply["text"]
    until(
        agent,
        "the reply stored (no longer pending) on the agent page",
        lambda d: any(
            m["id"] == reply["id"] and m["seq"] == reply["seq"] and not m["pending"]
            for m in transcript(d, AGENT_TRANSCRIPT)
        ),
    )

    write(customer, "sb-input", "my roaming does not work in France", "sb-send")
    until(
        agent,
        "the customer's answer on the agent page",
        lambda d: any(
            "roaming does not work" in m["text"] and m["sender"] == "customer"
            for m in transcript(d, AGENT_TRANSCRIPT)
        ),
    )
    agent.find_element(By.ID, "resolve").click()
    until(agent, "the chat resolved", lambda d: attribute(d, "#chat", "data-state") == "resolved")
    until(
        customer,
        "the customer page to say the conversation was resolved",
        lambda d: any(
            "resolved" in m["text"]
            for m in transcript(d, CUSTOMER_TRANSCRIPT)
            if m["sender"] == "system"
        ),
    )

    customer_saw = transcript(customer, CUSTOMER_TRANSCRIPT)
    agent_saw = transcript(agent, AGENT_TRANSCRIPT)
    assert_each_seq_once(customer_saw)
    assert_each_seq_once(agent_saw)
    found = await center.stored(uuid.UUID(conversation))
    assert_one_consistent_log(
        found,
        ["entered", "admitted", "bot_answered", "handed_off", "offered", "accepted", "resolved"],
    )
    stored = [(str(m["seq"]), str(m["id"])) for m in found["messages"]]
    # Both pages show the stored conversation, each message once, nothing else.
    assert [(m["seq"], m["id"]) for m in customer_saw] == stored
    assert [(m["seq"], m["id"]) for m in agent_saw] == stored
