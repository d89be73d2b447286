"""The bot track of a new conversation: weighted, sticky per id, and a bad file said in a line."""

import json
import math
import random
import uuid
from collections import Counter

import pytest

from switchboard.dataplane.gateway.routing import RoutingError, choose_track, parse_routing


def _routing(*weights: tuple[str, float]) -> str:
    tracks = [{"track": name, "version": f"{name}-v", "weight": w} for name, w in weights]
    return json.dumps({"sticky": True, "bot": tracks})


def _ids(count: int, seed: int) -> list[uuid.UUID]:
    draw = random.Random(seed)
    return [uuid.UUID(int=draw.getrandbits(128), version=4) for _ in range(count)]


@pytest.mark.parametrize(
    "weights",
    [
        (("stable", 95), ("canary", 5)),
        (("stable", 50), ("canary", 50)),
        (("stable", 1), ("canary", 2), ("third", 7)),
    ],
)
def test_new_conversations_spread_over_tracks_in_proportion_to_the_weights(
    weights: tuple[tuple[str, float], ...],
) -> None:
    routing = parse_routing(_routing(*weights))
    draws = 20_000
    counts = Counter(choose_track(routing, id_).track for id_ in _ids(draws, seed=7))
    total = sum(weight for _, weight in weights)
    for name, weight in weights:
        share = weight / total
        # Binomial: within 4 standard deviations of the expected count (a false alarm is ~6e-5).
        sigma = math.sqrt(draws * share * (1 - share))
        assert abs(counts[name] - draws * share) <= 4 * sigma, (name, counts)


def test_a_track_of_weight_zero_gets_no_new_conversation() -> None:
    routing = parse_routing(_routing(("stable", 100), ("canary", 0)))
    assert {choose_track(routing, id_).track for id_ in _ids(2_000, seed=1)} == {"stable"}
    routing = parse_routing(_routing(("stable", 0), ("canary", 100)))
    assert {choose_track(routing, id_).track for id_ in _ids(2_000, seed=2)} == {"canary"}


def test_one_conversation_id_always_gets_the_same_track() -> None:
    routing = parse_routing(_routing(("stable", 50), ("canary", 50)))
    for id_ in _ids(200, seed=3):
        assert len({choose_track(routing, id_).track for _ in range(3)}) == 1
        assert choose_track(routing, id_) == choose_track(routing, uuid.UUID(str(id_)))


def test_the_chosen_track_carries_the_version_recorded_on_the_conversation() -> None:
    routing = parse_routing(_routing(("stable", 1)))
    chosen = choose_track(routing, uuid.uuid4())
    assert (chosen.track, chosen.version) == ("stable", "stable-v")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"sticky": True, "bot": []}), "bot: .* at least 1 item"),
        (_routing(("stable", 0), ("canary", 0)), "every weight is 0"),
        (_routing(("stable", 50), ("stable", 50)), "listed twice"),
        (_routing(("stable", -1)), "bot.0.weight"),
        (json.dumps({"bot": [{"track": "stable", "weight": 1}]}), "bot.0.version: Field required"),
        (json.dumps([1, 2]), "the document"),
    ],
)
def test_an_unusable_routing_file_is_refused_with_the_reason(text: str, complaint: str) -> None:
    with pytest.raises(RoutingError, match=complaint):
        parse_routing(text)
