"""The bot's HTTPRoute: the routing weights as backend weights of the bot tracks' Services."""

from __future__ import annotations

from switchboard.api.bot import BotModel
from switchboard.resources import BotTrack, Decisions, Route, build_all
from switchboard.resources.bot_route import HTTP_ROUTE_API_VERSION
from tests.factory import contact_center
from tests.unit.resources.helpers import Manifest, find, of_kind

OLD = BotModel(name="intent-router", version="3.1.0", uri="https://models.example/3.1.0.yaml")
NEW = BotModel(name="intent-router", version="3.2.0", uri="https://models.example/3.2.0.yaml")
BOTH = (BotTrack("stable", OLD, 3), BotTrack("canary", NEW, 1))


def _backends(objects: list[Manifest]) -> dict[str, int]:
    route = find(objects, "HTTPRoute", "acme-bot")
    return {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}


def test_only_where_the_gateway_api_is_served() -> None:
    assert of_kind(build_all(contact_center()), "HTTPRoute") == []
    (route,) = of_kind(build_all(contact_center(), Decisions(http_route=True)), "HTTPRoute")
    assert route["apiVersion"] == HTTP_ROUTE_API_VERSION


def test_the_backends_are_the_tracks_services_weighted_as_new_conversations_go() -> None:
    decisions = Decisions(
        bot_tracks=BOTH,
        routes=(Route("stable", "3.1.0", 75), Route("canary", "3.2.0", 25)),
        http_route=True,
    )
    objects = build_all(contact_center(), decisions)
    assert _backends(objects) == {"acme-bot": 75, "acme-bot-canary": 25}
    route = find(objects, "HTTPRoute", "acme-bot")
    for reference in [*route["spec"]["parentRefs"], *route["spec"]["rules"][0]["backendRefs"]]:
        service = find(objects, "Service", reference["name"])
        assert (reference["group"], reference["kind"]) == ("", "Service")
        assert reference["port"] in {port["port"] for port in service["spec"]["ports"]}
    assert route["spec"]["parentRefs"][0]["name"] == "acme-bot"


def test_a_track_that_takes_no_new_conversations_keeps_its_backend_at_weight_zero() -> None:
    promoting = Decisions(bot_tracks=BOTH, routes=(Route("canary", "3.2.0", 100),), http_route=True)
    assert _backends(build_all(contact_center(), promoting)) == {
        "acme-bot": 0,
        "acme-bot-canary": 100,
    }
    alone = Decisions(http_route=True)
    assert _backends(build_all(contact_center(), alone)) == {"acme-bot": 100}
