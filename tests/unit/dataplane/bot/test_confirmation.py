"""Reading the answer to "Did you mean ...?"."""

from __future__ import annotations

import pytest

from switchboard.dataplane.bot.confirmation import read_confirmation


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes!",
        "YES.",
        "yeah",
        "yep",
        "sure",
        "ok",
        "Yes please",
        "yes, thanks",
        "y",
        "That's right",
        "that\u2019s right",
        "yes, that's it",
        "Exactly!",
        "yes it is",
        "of course",
    ],
)
def test_yes(text: str) -> None:
    assert read_confirmation(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "No.",
        "NO!!",
        "nope",
        "nah",
        "no thanks",
        "not really",
        "No, that's wrong",
        "that's not it",
        "no, not at all",
        "wrong",
        "I didn't",
    ],
)
def test_no(text: str) -> None:
    assert read_confirmation(text) is False


@pytest.mark.parametrize(
    "text",
    [
        "no, I meant my bill",  # a no with a rephrasing: read as a new message
        "yes but how do I pay",
        "how much data do I have left",
        "sim",
        "",
        "   ",
        "no yes",
        "yes no",
        "please",
        "okay so what about roaming",
    ],
)
def test_neither(text: str) -> None:
    assert read_confirmation(text) is None
