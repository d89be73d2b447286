"""How the contact center protects its customers' personal data."""

from __future__ import annotations

from pydantic import Field

from switchboard.api.types import ApiModel


class DataProtection(ApiModel):
    """Personal data in conversations: where it is shown and written."""

    pii_masking: bool = Field(
        True,
        description=(
            "Mask payment card numbers (Luhn-valid, keeping the last four digits), e-mail "
            "addresses and phone numbers in customers' messages shown to agents and in every "
            "log line of the gateways, bot and agent workspace. The store keeps the "
            "conversation as the customer wrote it."
        ),
    )
