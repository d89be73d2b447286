"""Pure builders of what the operator writes: a ContactCenter (and the controllers' decisions)
in, Kubernetes objects out; and its status, from what the cluster shows (`status`,
`sla_status`).

No client, no clock, no randomness: the same input always builds the same objects.
"""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.agents import build_agents
from switchboard.resources.bot import build_bot
from switchboard.resources.bot_route import build_bot_route
from switchboard.resources.built_in import volume_expansion
from switchboard.resources.channels import build_channels
from switchboard.resources.common import DATABASE, QUEUE, STABLE_TRACK, Manifest, desired_replicas
from switchboard.resources.database import build_database
from switchboard.resources.decisions import BotTrack, Decisions, Route
from switchboard.resources.disruption_budgets import build_disruption_budgets
from switchboard.resources.network_policies import build_network_policies
from switchboard.resources.pod_monitor import build_pod_monitor
from switchboard.resources.queue import build_queue
from switchboard.resources.retention import build_retention
from switchboard.resources.secrets import build_generated_secrets, generated_secret_names
from switchboard.resources.tls import (
    build_certificate,
    build_internal_certificate,
    internal_tls_secret_name,
)
from switchboard.resources.wiring import build_routing, build_wiring, wiring_hash

__all__ = [
    "BotTrack",
    "Decisions",
    "Manifest",
    "Route",
    "build_all",
    "build_generated_secrets",
    "build_volume_expansions",
    "generated_secret_names",
]


def build_volume_expansions(cc: ContactCenter) -> list[Manifest]:
    """The data volume claims of the built-in queue and database at their spec'd size.

    A StatefulSet's claim template cannot change, so when spec.storage grows the controller
    applies these to the existing claims (only when a claim exists and is smaller) and keeps the
    template's size in `Decisions.claim_template_storage`.
    """
    spec = cc.spec
    return [
        volume_expansion(cc, component, service.effective_storage)
        for component, service in ((QUEUE, spec.queue), (DATABASE, spec.database))
        if service.external is None
    ]


def build_all(cc: ContactCenter, decisions: Decisions | None = None) -> list[Manifest]:
    """Every child the operator applies, in a workable order (configuration before workloads).

    The generated Secrets are not among them: the controller creates those once, with
    `build_generated_secrets`, before applying these.
    """
    decisions = decisions or Decisions()
    spec = cc.spec
    wiring = build_wiring(cc)
    digest = wiring_hash(wiring["data"])
    bot_replicas = desired_replicas(spec.bot, decisions.replicas.get("bot"))
    tracks = decisions.bot_tracks or (BotTrack(STABLE_TRACK, spec.bot.model, bot_replicas),)
    routes = decisions.routes or (Route(STABLE_TRACK, spec.bot.model.version, 100),)
    return [
        wiring,
        build_routing(cc, routes),
        *build_network_policies(cc),
        *build_queue(cc, template_storage=decisions.claim_template_storage.get("queue")),
        *build_database(cc, template_storage=decisions.claim_template_storage.get("database")),
        *build_channels(cc, digest, decisions.tls_hash),
        *build_bot(cc, digest, tracks=tracks, sized_replicas=bot_replicas),
        *build_agents(
            cc, digest, replicas=desired_replicas(spec.agents, decisions.replicas.get("agents"))
        ),
        *build_disruption_budgets(cc),
        *build_retention(cc),
        *(
            [build_bot_route(cc, [track.track for track in tracks], routes)]
            if decisions.http_route
            else []
        ),
        *([build_pod_monitor(cc)] if decisions.pod_monitor else []),
        *(
            [build_certificate(cc)]
            if decisions.certificate and spec.tls is not None and spec.tls.issuer_ref is not None
            else []
        ),
        *(
            [build_internal_certificate(cc)]
            if decisions.certificate and internal_tls_secret_name(cc)
            else []
        ),
    ]
