"""How the contact center protects its customers' personal data."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

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
    classification: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
        ),
    ] = Field(
        "confidential",
        description=(
            "The data classification of the queue and the database, which hold customers' "
            "messages: the label `switchboard.io/data-classification` on their StatefulSets, "
            "pods and Services, for policy engines and backup tools to select by. A label "
            "value. Changing it restarts their pods (the label is on the pod template)."
        ),
    )
