"""The selector language of routing queues: which contacts a queue takes, by their attributes.

A selector is a disjunction of conjunctions of comparisons, CEL-like:

    tier == 'vip' && language in ['es', 'pt'] || intent == 'billing'

A comparison is `attribute == 'value'`, `attribute != 'value'` or `attribute in ['a', 'b']`;
`&&` binds tighter than `||`; there are no parentheses (any condition over comparisons can be
written this way). The attributes are `channel` (the channel's name), `channelType`,
`language` and `tier` (from the customer's start attributes) and `intent` (the bot's last).
An attribute the contact does not have compares as the empty string.

Without parentheses the language is regular, so one pattern checks its syntax both in the
apiserver (CEL's `matches`, RE2) and in Python; `parse` reads what the pattern accepts. Nothing
is ever evaluated as code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

ATTRIBUTES = ("channel", "channelType", "language", "tier", "intent")

_ATTRIBUTE = "(" + "|".join(ATTRIBUTES) + ")"
_VALUE = "'[^'\\\\]*'"
_COMPARISON = (
    f"{_ATTRIBUTE} *(==|!=) *{_VALUE}|{_ATTRIBUTE} +in *\\[ *{_VALUE}( *, *{_VALUE})* *\\]"
)
SELECTOR_PATTERN = f"^ *({_COMPARISON})( *(&&|\\|\\|) *({_COMPARISON}))* *$"
"""The selector's syntax, in the common subset of RE2 and Python's `re` (spaces, not tabs)."""

_TOKEN = re.compile(r" *(?:(\|\||&&|==|!=|\[|\]|,)|'([^'\\]*)'|([A-Za-z]+))")


@dataclass(frozen=True)
class Comparison:
    attribute: str
    values: frozenset[str]
    negated: bool

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return (attributes.get(self.attribute, "") in self.values) != self.negated


@dataclass(frozen=True)
class Selector:
    """`any` of the clauses, each `all` of its comparisons."""

    clauses: tuple[tuple[Comparison, ...], ...]

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return any(
            all(comparison.matches(attributes) for comparison in clause) for clause in self.clauses
        )


def valid(text: str) -> bool:
    return re.fullmatch(SELECTOR_PATTERN, text) is not None


def parse(text: str) -> Selector:
    """The selector `text` says; ValueError if it is not one."""
    if not valid(text):
        raise ValueError(f"not a selector: {text!r}")
    clauses: list[tuple[Comparison, ...]] = []
    clause: list[Comparison] = []
    attribute, operator, values = "", "", set[str]()
    # The pattern vouched for the order of tokens: each one only needs reading.
    for match in _TOKEN.finditer(text.rstrip()):
        symbol, value, word = match.groups()
        if word is not None and not attribute:
            attribute = word
        elif word is not None or symbol in ("==", "!="):
            operator = word or symbol
        elif value is not None:
            values.add(value)
            if operator != "in":
                clause.append(Comparison(attribute, frozenset(values), operator == "!="))
                attribute, values = "", set()
        elif symbol == "]":
            clause.append(Comparison(attribute, frozenset(values), negated=False))
            attribute, values = "", set()
        elif symbol == "||":
            clauses.append(tuple(clause))
            clause = []
    clauses.append(tuple(clause))
    return Selector(tuple(clauses))
