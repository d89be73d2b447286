"""What kopf is told to keep of the objects it watches."""

from __future__ import annotations

from kopf._cogs.structs import bodies

from switchboard.controllers.handlers import EventsOnlyMemories


async def test_kopf_remembers_no_object_between_its_events() -> None:
    memories = EventsOnlyMemories()
    body: bodies.RawBody = {"metadata": {"uid": "6f1c", "namespace": "acme", "name": "acme-bot"}}
    first = await memories.recall(body, noticed_by_listing=True)
    again = await memories.recall(body)
    assert again is not first and not again.noticed_by_listing
    assert list(memories.iter_all_memories()) == []
