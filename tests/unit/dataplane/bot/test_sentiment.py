"""VADER's scores, checked against what its authors publish rather than our own output.

The expected compound scores are the "Output for the above example code" of the vaderSentiment
README (cjhutto/vaderSentiment, README.rst), printed by the authors for the version on PyPI.
Their emoji example is left out: the README's code and its printed output show two different
sentences, and the emoji lexicon changed after it was printed.
"""

from __future__ import annotations

import socket

import pytest

from switchboard.dataplane.bot.sentiment import NEGATIVE, SentimentScorer

PUBLISHED = [
    ("VADER is smart, handsome, and funny.", 0.8316),
    ("VADER is smart, handsome, and funny!", 0.8439),
    ("VADER is very smart, handsome, and funny.", 0.8545),
    ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
    ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
    ("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469),
    ("VADER is not smart, handsome, nor funny.", -0.7424),
    ("The book was good.", 0.4404),
    ("At least it isn't a horrible book.", 0.431),
    ("The book was only kind of good.", 0.3832),
    (
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        -0.7042,
    ),
    ("Today SUX!", -0.5461),
    ("Today only kinda sux! But I'll get by, lol", 0.5249),
    ("Make sure you :) or :D today!", 0.8633),
    ("Not bad at all", 0.431),
]


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()


@pytest.mark.parametrize(("text", "compound"), PUBLISHED, ids=[text for text, _ in PUBLISHED])
def test_the_scores_the_authors_publish(
    scorer: SentimentScorer, text: str, compound: float
) -> None:
    assert scorer.score(text) == compound


def test_the_authors_cutoffs_split_their_examples() -> None:
    # The README: positive at 0.05 or more, negative at -0.05 or less, neutral between.
    assert NEGATIVE == -0.05
    negative = [text for text, compound in PUBLISHED if compound <= NEGATIVE]
    assert negative == [
        "VADER is not smart, handsome, nor funny.",
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        "Today SUX!",
    ]


def test_it_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lexicons ship inside the package: a bot without network access scores as well."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("VADER tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert SentimentScorer().score("Today SUX!") == -0.5461


def test_what_angry_and_content_customers_type(scorer: SentimentScorer) -> None:
    # The ordering the escalation rules rely on, on customer-service text.
    angry = scorer.score("This is ridiculous, I am so angry")
    annoyed = scorer.score("that didn't help")
    neutral = scorer.score("how much data do I have left")
    pleased = scorer.score("great, thanks!")
    assert -1 <= angry < -0.6 < annoyed <= NEGATIVE < neutral < pleased <= 1
