"""What the controllers decided that the spec does not say, handed to the builders as values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from switchboard.api.bot import BotModel


@dataclass(frozen=True)
class Route:
    """The share of new conversations one bot track takes: an entry of the routing file."""

    track: str
    version: str
    weight: int


@dataclass(frozen=True)
class BotTrack:
    """One bot Deployment: the track whose conversations it serves, its model, its replicas."""

    track: str
    model: BotModel
    replicas: int


@dataclass(frozen=True)
class Decisions:
    """The controllers' decisions. The defaults reproduce the spec: a new contact center."""

    replicas: Mapping[str, int] = field(default_factory=dict)
    """Replicas the autoscaler chose, by workload (`bot`, `agents`); kept within min and max.
    For the bot, over all its tracks: each track runs its share (`bot_tracks`)."""
    claim_template_storage: Mapping[str, str] = field(default_factory=dict)
    """Storage in the claim template of an existing StatefulSet, by component (`queue`,
    `database`). Claim templates are immutable, so the builder keeps it; a grown spec.storage
    reaches the volume through `build_volume_expansions` instead."""
    bot_tracks: tuple[BotTrack, ...] = ()
    """The bot Deployments the rollout runs, one per track (the stable one first). Empty: the
    stable track alone, serving spec.bot.model with the bot's replicas."""
    routes: tuple[Route, ...] = ()
    """Where new conversations go, by bot track. Empty: all to the stable track."""
    http_route: bool = False
    """The cluster serves the Gateway API: the bot's HTTPRoute carries the routes' weights."""
    pod_monitor: bool = False
    """The cluster serves the Prometheus Operator's PodMonitor: one scrapes the contract."""
    certificate: bool = False
    """The cluster serves cert-manager's Certificate: an issuer reference gets one."""
    tls_hash: str = ""
    """A digest of the contents of the Secret the gateways serve TLS with ("" while it does
    not exist): the gateways' pod template carries it, so a renewed certificate rolls them."""
