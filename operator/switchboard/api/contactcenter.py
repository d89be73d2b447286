"""The ContactCenter API: the spec a platform engineer writes, and the resource kopf hands over.

These models are the source of truth: the CRD (`switchboard crd`) and the API reference are
generated from them. Each CEL rule the apiserver enforces is declared once, as a `Rule` that
pydantic checks too, so `switchboard render` rejects the same manifests `kubectl apply` does
(except the update-time rules, which need the old object).

This module holds the spec's root and the resource; each part of the spec has its own module:
`channels`, `bot` (model, rollout, analysis), `agents`, `routing` (skills and queues; `selector`
their expressions), `services` (queue and database), `sla` (service level, metrics, forecast),
`data_protection`, `tls` (the gateways' certificate), and `common` for what several of them share.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.api.agents import Agents
from switchboard.api.bot import Bot
from switchboard.api.channels import MAX_CHANNELS, Channel
from switchboard.api.data_protection import DataProtection
from switchboard.api.quality import Quality
from switchboard.api.routing import Routing
from switchboard.api.rules import Rule, WithRules, unique_names
from switchboard.api.services import Database, Queue
from switchboard.api.sla import SLA, Forecast, Metrics
from switchboard.api.status import ContactCenterStatus
from switchboard.api.tls import Tls
from switchboard.api.types import CAMEL_CASE, DNS_LABEL_PATTERN, ApiModel, defaulted

# A ContactCenter's name prefixes every child's name; the longest child name
# (`<name>-database-credentials`, and the StatefulSet's revision label) must stay within 63.
MAX_NAME_LENGTH = 40


class ContactCenterSpec(ApiModel):
    """The desired contact center."""

    RULES = (
        Rule(
            "(!has(self.bot.autoscaling) && !has(self.agents.autoscaling)) || "
            "has(self.metrics.prometheusURL)",
            "metrics.prometheusURL is required when bot.autoscaling or agents.autoscaling is set",
            lambda spec: (
                (spec.bot.autoscaling is None and spec.agents.autoscaling is None)
                or spec.metrics.prometheus_url is not None
            ),
        ),
        Rule(
            "self.bot.handoff.channels.all(o, self.channels.exists(c, c.name == o.name))",
            "bot.handoff.channels may only name channels of spec.channels",
            lambda spec: (
                {entry.name for entry in spec.bot.handoff.channels}
                <= {channel.name for channel in spec.channels}
            ),
        ),
        Rule(
            "!has(self.tls) || !has(self.tls.internal) || "
            "!has(self.queue.external) || !has(self.database.external)",
            "tls.internal is for the built-in queue and database, and both are external: their "
            "TLS is queue.external.caRef and database.external.caRef",
            lambda spec: (
                spec.tls is None
                or spec.tls.internal is None
                or spec.queue.external is None
                or spec.database.external is None
            ),
        ),
    )

    channels: Annotated[list[Channel], unique_names("channels")] = Field(
        description=(
            f"The channels customers use, each served by its own gateway. 1 to {MAX_CHANNELS}, "
            "names unique."
        ),
        min_length=1,
        max_length=MAX_CHANNELS,
    )
    bot: Bot = Field(description="The bot that answers first.")
    agents: Agents = defaulted(
        Agents,
        "The agent workspace.",
    )
    routing: Routing | None = Field(
        None,
        description=(
            "Skills-based routing of handed-off contacts to agents. Unset: every agent with "
            "room may take any contact, longest idle first, oldest contact first."
        ),
    )
    queue: Queue = defaulted(
        Queue,
        "The contact queue. Defaults to a built-in RabbitMQ.",
    )
    database: Database = defaulted(
        Database,
        "The database. Defaults to a built-in PostgreSQL.",
    )
    sla: SLA = defaulted(
        SLA,
        "The service-level objective capacity is sized for. Defaults to 80/20.",
    )
    metrics: Metrics = defaulted(
        Metrics,
        "The metrics source for autoscaling and rollout analysis.",
    )
    forecast: Forecast = defaulted(
        Forecast,
        "The arrival forecast the autoscaler scales ahead with.",
    )
    data_protection: DataProtection = defaulted(
        DataProtection,
        "How customers' personal data is shown and logged.",
    )
    tls: Tls | None = Field(
        None,
        description=(
            "TLS of the gateways: they serve HTTPS and WSS on their http port, and their probes "
            "use HTTPS. Unset: plain HTTP (TLS ends in front of them, at an ingress)."
        ),
    )
    quality: Quality = defaulted(
        Quality,
        "How the quality figures (first-contact resolution, ...) are measured.",
    )


class ObjectMeta(BaseModel):
    """The parts of metav1.ObjectMeta the operator reads; everything else passes through."""

    model_config = ConfigDict(**CAMEL_CASE, extra="allow")

    name: str
    namespace: str = "default"
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ContactCenter(WithRules):
    """A ContactCenter as stored by the apiserver (and as kopf hands it over)."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="ignore"
    )

    # At the CRD's root: the apiserver's schema of metadata cannot carry rules.
    RULES = (
        Rule(
            f"self.metadata.name.size() <= {MAX_NAME_LENGTH}",
            f"metadata.name must be at most {MAX_NAME_LENGTH} characters: it prefixes the names "
            "of the contact center's parts",
            lambda cc: len(cc.metadata.name) <= MAX_NAME_LENGTH,
        ),
        Rule(
            f"self.metadata.name.matches('{DNS_LABEL_PATTERN}')",
            "metadata.name must be a DNS label (lower-case letters, digits and '-', starting "
            "with a letter): it names Services",
            lambda cc: re.fullmatch(DNS_LABEL_PATTERN, cc.metadata.name) is not None,
        ),
    )

    api_version: Literal["switchboard.io/v1alpha1"] = Field(
        "switchboard.io/v1alpha1", alias="apiVersion"
    )
    kind: Literal["ContactCenter"] = "ContactCenter"
    metadata: ObjectMeta
    spec: ContactCenterSpec
    status: ContactCenterStatus = Field(default_factory=ContactCenterStatus)

    @property
    def name(self) -> str:
        """metadata.name"""
        return self.metadata.name

    @property
    def namespace(self) -> str:
        """metadata.namespace"""
        return self.metadata.namespace
