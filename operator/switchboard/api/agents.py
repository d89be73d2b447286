"""The agent workspace: the backend of the agent desktop, scaled with the human staffing."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from switchboard.api.common import MAX_REPLICAS, Autoscaling, Resources
from switchboard.api.types import ApiModel, Duration, Image, duration_at_least


class Agents(ApiModel):
    """The agent workspace backend (agent desktop and assist), scaled with the human staffing."""

    image: Image | None = Field(
        None,
        description="Container image of the agent workspace. Defaults to Switchboard's image.",
    )
    replicas: int = Field(
        1,
        description="Number of workspace pods when autoscaling is not set.",
        ge=0,
        le=MAX_REPLICAS,
    )
    seats_per_replica: int = Field(
        25,
        description=(
            "Human agents one workspace replica serves. The autoscaler runs "
            "ceil(recommended agents / seatsPerReplica) replicas."
        ),
        ge=1,
        le=10000,
    )
    offer_timeout: Annotated[Duration, duration_at_least("5s", "agents.offerTimeout")] = Field(
        "30s",
        description=(
            "How long an agent has to accept a contact offered to them; then it goes back to "
            "the queue, first in line, for another agent. At least 5s. Format: a duration "
            "such as `30s`, `1m`."
        ),
    )
    autoscaling: Autoscaling | None = Field(
        None,
        description=(
            "Size the workspace from the recommended number of human agents. When set, "
            "`replicas` is ignored and the operator owns the replica count."
        ),
    )
    resources: Resources | None = Field(
        None, description="Overrides of the workspace container's CPU and memory."
    )
