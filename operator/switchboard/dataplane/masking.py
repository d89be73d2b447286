"""Masking of personal data in text shown to agents and written to logs
(`spec.dataProtection.piiMasking`): payment card numbers, e-mail addresses and phone numbers.

Pure. What is masked is chosen to err on the side of masking without hiding the conversation:
- a card number is 13 to 19 digits, optionally grouped by single spaces or dashes, that passes
  the Luhn check (an order number rarely does); it keeps its last four digits, as receipts do;
- an e-mail address is `local@domain.tld`;
- a phone number is a `+` and 7 to 15 digits, or 9 to 15 digits without it (E.164 allows 15),
  grouped by spaces, dots, dashes or parentheses; a date such as 2025-03-04 (8 digits) is not.
"""

from __future__ import annotations

import logging
import re

CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ().-]{5,}\d(?!\w)")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number: every second digit from the right doubled."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"[card ending {digits[-4:]}]" if luhn_valid(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = len(re.sub(r"\D", "", text))
    least = 7 if text.startswith("+") else 9
    return "[phone]" if least <= digits <= 15 else text


def mask_pii(text: str) -> str:
    """`text` with card numbers, e-mail addresses and phone numbers replaced."""
    text = CARD.sub(_card, text)
    text = EMAIL.sub("[email]", text)
    return PHONE.sub(_phone, text)


class MaskingFilter(logging.Filter):
    """Masks personal data in every record a handler writes (its message, arguments merged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
