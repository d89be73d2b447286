"""Namespaces matching `--namespace` patterns: every one kopf's namespace watch lists is served.

kopf lists the namespaces once, then starts its namespace watch, which lists them again before
watching from that listing; it ignores the second listing's objects (events of type None). A
namespace created between the two listings is in neither the first nor the watch's events, so
its ContactCenters were never served until the operator restarted (seen as a test namespace
created just as the operator started). Adding every listed namespace that matches is what the
first listing does; doing it for the watch's listing too (and its relistings after a watch
restarts) closes the gap.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from kopf._cogs.structs import bodies, references
from kopf._core.reactor import observation


async def revise_on_every_event(
    *,
    raw_event: bodies.RawEvent,
    namespaces: Collection[references.NamespacePattern],
    insights: references.Insights,
    **_: Any,
) -> None:
    """kopf's namespace event processor, for listed objects as well as watch events."""
    async with insights.revised:
        observation.revise_namespaces(
            raw_events=[raw_event], insights=insights, namespaces=namespaces
        )
        insights.revised.notify_all()


def serve_listed_namespaces() -> None:
    """Makes kopf's namespace observer take the namespaces its watch lists; call before
    kopf.run."""
    observation.process_discovered_namespace_event = revise_on_every_event
