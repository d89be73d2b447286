"""Whether a customer's message answers "Did you mean ...?" with yes or no (pure).

The words are English. A message is an answer when, after dropping punctuation, case and a
trailing "please" or "thanks", it is one of the phrases below, or a yes or no word followed by
a phrase of the same side ("yes, that's right"). Anything else ("no, I meant my bill", "sim")
is not an answer: the bot reads it as a new message.
"""

from __future__ import annotations

import re

YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "ya", "y", "sure", "ok", "okay", "correct"})
NO_WORDS = frozenset({"no", "nope", "nah", "n"})
YES = YES_WORDS | {
    "right",
    "exactly",
    "indeed",
    "absolutely",
    "definitely",
    "of course",
    "i did",
    "i do",
    "it is",
    "that's it",
    "that is it",
    "that's right",
    "that is right",
    "that's correct",
    "that is correct",
    "yes i did",
    "yes i do",
    "yes it is",
}
NO = NO_WORDS | {
    "wrong",
    "incorrect",
    "not really",
    "not at all",
    "not quite",
    "i didn't",
    "i did not",
    "i don't",
    "i do not",
    "it isn't",
    "it is not",
    "that's wrong",
    "that is wrong",
    "that's not it",
    "that is not it",
    "that's not right",
    "that is not right",
    "no i didn't",
    "no i don't",
    "no it isn't",
}
POLITE = ("please", "thanks", "thank you")


def _words(text: str) -> str:
    text = text.casefold().replace("\u2019", "'")
    words = re.sub(r"[^\w' ]+", " ", text).split()
    phrase = " ".join(words)
    stripped = True
    while stripped:
        stripped = False
        for polite in POLITE:
            if phrase.endswith(" " + polite):
                phrase = phrase.removesuffix(" " + polite)
                stripped = True
    return phrase


def read_confirmation(text: str) -> bool | None:
    """True for yes, False for no, None when `text` is neither."""
    phrase = _words(text)
    for answer, phrases, words in ((True, YES, YES_WORDS), (False, NO, NO_WORDS)):
        if phrase in phrases:
            return answer
        first, _, rest = phrase.partition(" ")
        if first in words and rest in phrases:
            return answer
    return None
