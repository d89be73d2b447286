"""The queues' selector language: what it accepts, how it reads, and that nothing else gets in."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.api.selector import ATTRIBUTES, SELECTOR_PATTERN, parse, valid

VIP = {"tier": "vip", "language": "en", "channelType": "webchat"}
SPANISH = {"tier": "standard", "language": "es", "channelType": "voice", "intent": "billing"}
NOTHING: dict[str, str] = {}


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ("tier == 'vip'", [VIP]),
        ("tier != 'vip'", [SPANISH, NOTHING]),
        ("language in ['es', 'pt']", [SPANISH]),
        ("language in ['es','pt'] && channelType == 'webchat'", []),
        ("tier == 'vip' || intent == 'billing'", [VIP, SPANISH]),
        # && binds tighter: (vip && voice) || billing
        ("tier == 'vip' && channelType == 'voice' || intent == 'billing'", [SPANISH]),
        # an attribute the contact lacks is the empty string
        ("intent == ''", [VIP, NOTHING]),
        ("  tier=='vip'  ", [VIP]),
        ("intent in ['a || b', 'x]']", []),
    ],
)
def test_a_selector_takes_the_contacts_its_comparisons_describe(
    selector: str, selected: list[dict[str, str]]
) -> None:
    contacts = [VIP, SPANISH, NOTHING]
    assert [c for c in contacts if parse(selector).matches(c)] == selected


def test_a_value_may_hold_the_language_s_own_symbols() -> None:
    selector = parse("intent in ['a || b', 'x]'] || tier == '=='")
    assert selector.matches({"intent": "a || b"})
    assert selector.matches({"intent": "x]"})
    assert selector.matches({"tier": "=="})
    assert not selector.matches({"intent": "a"})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tier",
        "tier = 'vip'",
        'tier == "vip"',
        "customer == 'x'",
        "(tier == 'vip')",
        "!(tier == 'vip')",
        "tier == 'vip' &&",
        "tier == 'vip' and language == 'en'",
        "tier in []",
        "tier in ['a' 'b']",
        "__import__('os').system('true')",
        "tier == 'v\\'ip'",
        "tier == 'vip'\ntrue",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    assert not valid(text)
    with pytest.raises(ValueError, match="not a selector"):
        parse(text)


comparisons = st.builds(
    lambda attribute, negated, values: (
        f"{attribute} in [{', '.join(repr(v) for v in values)}]"
        if len(values) > 1
        else f"{attribute} {'!=' if negated else '=='} {values[0]!r}"
    ),
    st.sampled_from(ATTRIBUTES),
    st.booleans(),
    st.lists(st.sampled_from(["vip", "es", "", "billing", "a b"]), min_size=1, max_size=3),
)


@given(st.lists(st.lists(comparisons, min_size=1, max_size=3), min_size=1, max_size=3))
def test_every_well_formed_selector_is_read_as_its_clauses(clauses: list[list[str]]) -> None:
    text = " || ".join(" && ".join(clause) for clause in clauses)
    assert re.fullmatch(SELECTOR_PATTERN, text)
    assert [len(clause) for clause in parse(text).clauses] == [len(c) for c in clauses]
