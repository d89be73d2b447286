"""What the per-second loops keep of a ContactCenter between looks."""

from __future__ import annotations

from switchboard.controllers.ticks import SpecsByGeneration
from tests.factory import contact_center


def test_a_spec_is_validated_again_only_when_its_generation_moves_on() -> None:
    specs = SpecsByGeneration()
    key = ("team-a", "acme")
    body = contact_center(generation=1).model_dump(by_alias=True, mode="json")
    first = specs.of(key, body)
    assert first is not None and first.metadata.generation == 1

    # Same generation (an annotation or status change): the spec it knows stands.
    body["spec"]["bot"]["replicas"] = 7
    assert specs.of(key, body) is first

    body["metadata"]["generation"] = 2
    second = specs.of(key, body)
    assert second is not None and second.spec.bot.replicas == 7

    body["metadata"]["generation"] = 3
    body["spec"]["bot"]["replicas"] = "many"
    assert specs.of(key, body) is None
    assert specs.keys() == [key]
    specs.forget(key)
    assert specs.keys() == []
