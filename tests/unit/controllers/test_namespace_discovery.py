"""The namespaces kopf's namespace watch lists are served when they match the patterns."""

from __future__ import annotations

import asyncio

from kopf._cogs.structs import bodies, references
from kopf._core.reactor import observation

from switchboard.controllers.namespace_discovery import serve_listed_namespaces


def _listed(name: str) -> bodies.RawEvent:
    """A namespace as a watch's initial listing yields it: an event of type None."""
    return {"type": None, "object": {"metadata": {"name": name}}}


def _observed(*events: bodies.RawEvent) -> set[str | None]:
    async def observe() -> set[str | None]:
        insights = references.Insights()
        patterns = ["t-*"]
        for event in events:
            await observation.process_discovered_namespace_event(
                raw_event=event, namespaces=patterns, insights=insights
            )
        return set(insights.namespaces)

    return asyncio.run(observe())


def test_a_namespace_only_the_watch_listed_is_served() -> None:
    serve_listed_namespaces()
    assert _observed(_listed("t-created-between-listings"), _listed("kube-system")) == {
        "t-created-between-listings"
    }


def test_a_deleted_namespace_in_a_relisting_is_dropped_as_before() -> None:
    serve_listed_namespaces()
    gone: bodies.RawEvent = {"type": "DELETED", "object": {"metadata": {"name": "t-gone"}}}
    assert _observed(_listed("t-gone"), gone, _listed("t-kept")) == {"t-kept"}
