"""How a customer feels in a message: VADER's compound score, from -1 (most negative) to 1.

VADER (Hutto and Gilbert, ICWSM 2014) is a lexicon and a few rules (negation, intensifiers,
capitals, punctuation, "but"), tuned on short social-media text: much like what customers type
into a chat. `vaderSentiment` ships its lexicons inside the package and reads them from there,
so nothing is downloaded when the bot starts; scoring one message takes well under a
millisecond, so it runs on the event loop.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEGATIVE = -0.05
"""The authors' cutoff: a compound score at or below it is negative (at or above 0.05,
positive; between them, neutral)."""


class SentimentScorer:
    """Scores customer messages; built once (it reads the lexicon), used for every turn."""

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        """VADER's compound score of `text`, in [-1, 1]."""
        return float(self._analyzer.polarity_scores(text)["compound"])
