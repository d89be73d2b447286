"""The bot's HTTPRoute (Gateway API), where the cluster serves that API: the routing weights of
new conversations as the backend weights of the bot tracks' Services.

The bot takes its work from the queue, by track, so the gateways' routing file is what steers
conversations. The HTTPRoute states the same split for whatever routes HTTP to the bot by the
Gateway API (a service mesh implementing it for Services, GAMMA) and for tools that read it.
Its parent is the stable bot Service: the route applies to traffic addressed to the bot.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.bot import bot_name
from switchboard.resources.common import (
    BOT,
    HTTP_PORT,
    STABLE_TRACK,
    Component,
    Manifest,
    object_meta,
)
from switchboard.resources.decisions import Route

HTTP_ROUTE_API_VERSION = "gateway.networking.k8s.io/v1"
BOTS = Component(BOT.name, BOT.app)
"""The bot as a whole, every track."""


def _service(cc: ContactCenter, track: str) -> dict[str, object]:
    return {"group": "", "kind": "Service", "name": bot_name(cc, track), "port": HTTP_PORT}


def build_bot_route(cc: ContactCenter, tracks: Sequence[str], routes: Sequence[Route]) -> Manifest:
    """HTTPRoute `<cc>-bot`: a backend per bot track (`tracks`, each with its Service), weighted
    as `routes` send new conversations (a track without a route: 0)."""
    weights = {route.track: route.weight for route in routes}
    return {
        "apiVersion": HTTP_ROUTE_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": object_meta(cc, bot_name(cc), BOTS),
        "spec": {
            "parentRefs": [_service(cc, STABLE_TRACK)],
            "rules": [
                {
                    "backendRefs": [
                        {**_service(cc, track), "weight": weights.get(track, 0)} for track in tracks
                    ]
                }
            ],
        },
    }
