"""PII masking, against independent references: the card networks' published test numbers
(Luhn-valid), numbers that fail Luhn, and the shapes of addresses and phone numbers."""

from __future__ import annotations

import io
import logging

import pytest

from switchboard.dataplane.masking import MaskingFilter, luhn_valid, mask_pii

# Test card numbers the networks publish for integration testing (all Luhn-valid).
TEST_CARDS = [
    ("4111 1111 1111 1111", "1111"),  # Visa
    ("5500-0000-0000-0004", "0004"),  # Mastercard
    ("378282246310005", "0005"),  # American Express, 15 digits
    ("6011 1111 1111 1117", "1117"),  # Discover
    ("4222222222222", "2222"),  # Visa, 13 digits
]


@pytest.mark.parametrize(("number", "last4"), TEST_CARDS)
def test_card_numbers_keep_only_their_last_four_digits(number: str, last4: str) -> None:
    assert mask_pii(f"my card is {number}, thanks") == f"my card is [card ending {last4}], thanks"


def test_luhn_against_known_values() -> None:
    assert luhn_valid("79927398713")  # the textbook example
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4111111111111112")


def test_a_number_that_fails_luhn_is_not_a_card() -> None:
    # 16 digits: too long for a phone number, not a card: an order number stays readable.
    assert mask_pii("order 4111111111111112 is late") == "order 4111111111111112 is late"


@pytest.mark.parametrize(
    "address", ["jane.doe@example.com", "j+bills@mail.example.co.uk", "X_Y%z@sub-1.example.org"]
)
def test_e_mail_addresses(address: str) -> None:
    assert mask_pii(f"write to {address} please") == "write to [email] please"


@pytest.mark.parametrize(
    "phone",
    ["+44 20 7946 0958", "+1 (555) 010-4477", "020 7946 0958", "555.010.4477", "+4915112345"],
)
def test_phone_numbers(phone: str) -> None:
    assert mask_pii(f"call me on {phone} tonight") == "call me on [phone] tonight"


@pytest.mark.parametrize(
    "text",
    [
        "on 2025-03-04 at 10:30",  # a date and a time
        "I paid 1,250.00 last month",
        "plan 12345 for 30 days",
        "ticket #8812345",  # seven digits without +: too short for a phone number
        "no digits at all, just words",
    ],
)
def test_what_is_not_personal_data_is_left_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_the_log_filter_masks_a_record_s_merged_message() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("test_masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("could not deliver %r to %s", "card 4111 1111 1111 1111", "a@b.example")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "could not deliver 'card [card ending 1111]' to [email]\n"
