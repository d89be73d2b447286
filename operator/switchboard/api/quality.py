"""How the contact center's quality figures are measured (docs/metrics.md, "Quality figures")."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from switchboard.api.types import ApiModel, Duration, duration_at_least


class Quality(ApiModel):
    """What the quality figures count."""

    first_contact_resolution_window: Annotated[
        Duration, duration_at_least("1m", "quality.firstContactResolutionWindow")
    ] = Field(
        "24h",
        description=(
            "A resolved contact was not resolved at first contact when its customer (the same "
            "customer id, on any channel) starts another within this long of its end; it is "
            "counted in switchboard_repeat_contacts_total. Guests (no customer id) are never "
            "counted. At least 1m. Format: a duration such as `24h`, `72h`. Changing it "
            "restarts the gateways."
        ),
    )
