"""How the bot's replicas are shared between its tracks, phase by phase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from switchboard.api.bot import Bot, BotModel
from switchboard.api.status import DrainingModel, ModelStatus, RolloutStatus
from switchboard.resources.common import STABLE_TRACK
from switchboard.resources.decisions import BotTrack, Route
from switchboard.rollout.capacity import bot_tracks, track_replicas
from switchboard.rollout.machine import CANARY_TRACK, Health, Plan, Track

OLD = BotModel(name="router", version="1.0.0", uri="configmap://router-1.0.0/model.yaml")
NEW = BotModel(name="router", version="2.0.0", uri="configmap://router-2.0.0/model.yaml")
DEADLINE = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
Phase = Literal["Stable", "Progressing", "Paused", "Promoting", "RolledBack", "Aborted"]


def spec(first_weight: int = 5, concurrency: int = 50) -> Bot:
    return Bot.model_validate(
        {
            "model": NEW.model_dump(),
            "concurrency": concurrency,
            "rollout": {"steps": [{"weight": first_weight}, {"weight": 60}]},
        }
    )


def _status(model: BotModel) -> ModelStatus:
    return ModelStatus(name=model.name, version=model.version, uri=model.uri)


def plan(
    phase: Phase,
    routes: dict[str, int],
    *,
    canary: BotModel | None = None,
    draining: tuple[str, ...] = (),
    stable: BotModel = OLD,
) -> Plan:
    drains = [
        DrainingModel(track=track, model=_status(OLD), deadline=DEADLINE) for track in draining
    ]
    status = RolloutStatus(stable=_status(stable), phase=phase, draining=drains)
    versions = {STABLE_TRACK: stable.version, CANARY_TRACK: NEW.version}
    return Plan(
        status=status,
        routes=tuple(Route(track, versions[track], weight) for track, weight in routes.items()),
        stable_model=stable,
        canary_model=canary,
        events=(),
        health=Health(True, phase, ""),
        requeue_after=None,
    )


def shares(sized: int, weight: int) -> dict[str, int]:
    progressing = plan(
        "Progressing", {STABLE_TRACK: 100 - weight, CANARY_TRACK: weight}, canary=NEW
    )
    return track_replicas(progressing, spec(), sized, {}, {})


def test_without_a_rollout_the_stable_track_runs_every_replica() -> None:
    assert track_replicas(plan("Stable", {STABLE_TRACK: 100}), spec(), 7, {}, {}) == {
        STABLE_TRACK: 7
    }


@pytest.mark.parametrize(
    ("sized", "weight", "stable", "canary"),
    [
        (20, 5, 19, 1),  # 5% of 20 is exactly 1
        (10, 25, 7, 3),  # 2.5 rounds up for the canary
        (3, 50, 1, 2),
        (40, 50, 20, 20),
        (10, 95, 1, 9),  # the stable track keeps one
        (1, 5, 1, 1),  # one replica cannot be split: each track runs one
    ],
)
def test_a_canary_takes_its_weight_of_the_replicas_rounded_up(
    sized: int, weight: int, stable: int, canary: int
) -> None:
    assert shares(sized, weight) == {STABLE_TRACK: stable, CANARY_TRACK: canary}


def test_the_shares_follow_the_whole_and_the_weight_without_flip_flop() -> None:
    for weight in range(1, 100):
        for sized in range(1, 80):
            now, more = shares(sized, weight), shares(sized + 1, weight)
            assert now[STABLE_TRACK] >= 1 and now[CANARY_TRACK] >= 1
            if sized >= 2:
                assert now[STABLE_TRACK] + now[CANARY_TRACK] == sized
            # One more replica for the bot: neither track loses one.
            assert more[STABLE_TRACK] >= now[STABLE_TRACK]
            assert more[CANARY_TRACK] >= now[CANARY_TRACK]
            if weight < 99:
                heavier = shares(sized, weight + 1)
                assert heavier[CANARY_TRACK] >= now[CANARY_TRACK]
                assert heavier[STABLE_TRACK] <= now[STABLE_TRACK]


@pytest.mark.parametrize(("first", "sized", "canary"), [(5, 20, 1), (50, 10, 5), (30, 1, 1)])
def test_before_its_first_step_the_canary_gets_ready_for_that_step(
    first: int, sized: int, canary: int
) -> None:
    waiting = plan("Progressing", {STABLE_TRACK: 100}, canary=NEW)
    replicas = track_replicas(waiting, spec(first), sized, {}, {})
    assert replicas == {STABLE_TRACK: sized, CANARY_TRACK: canary}


def test_while_the_stable_track_drains_the_old_model_it_keeps_room_for_its_conversations() -> None:
    first_half = plan("Promoting", {CANARY_TRACK: 100}, canary=NEW, draining=(STABLE_TRACK,))
    active = {STABLE_TRACK: Track(active_conversations=120)}
    replicas = track_replicas(first_half, spec(concurrency=50), 10, active, {STABLE_TRACK: 10})
    assert replicas == {STABLE_TRACK: 3, CANARY_TRACK: 10}  # 120 conversations, 50 a replica


def test_a_draining_track_never_grows_and_keeps_what_it_runs_while_its_count_is_unknown() -> None:
    first_half = plan("Promoting", {CANARY_TRACK: 100}, canary=NEW, draining=(STABLE_TRACK,))
    crowded = {STABLE_TRACK: Track(active_conversations=5000)}
    assert track_replicas(first_half, spec(), 10, crowded, {STABLE_TRACK: 4})[STABLE_TRACK] == 4
    unknown = {STABLE_TRACK: Track(active_conversations=None)}
    assert track_replicas(first_half, spec(), 10, unknown, {STABLE_TRACK: 6})[STABLE_TRACK] == 6


def test_the_stable_track_holding_the_promoted_model_is_ready_for_every_conversation() -> None:
    second_half = plan("Promoting", {CANARY_TRACK: 100}, canary=NEW, stable=NEW)
    assert track_replicas(second_half, spec(), 8, {}, {}) == {STABLE_TRACK: 8, CANARY_TRACK: 8}


def test_a_retired_canary_shrinks_to_its_remaining_conversations() -> None:
    promoted = plan("Stable", {STABLE_TRACK: 100}, canary=NEW, stable=NEW, draining=(CANARY_TRACK,))
    tracks: dict[str, Any] = {CANARY_TRACK: Track(active_conversations=30)}
    replicas = track_replicas(promoted, spec(), 8, tracks, {CANARY_TRACK: 8})
    assert replicas == {STABLE_TRACK: 8, CANARY_TRACK: 1}


def test_a_bot_scaled_to_zero_runs_no_track() -> None:
    progressing = plan("Progressing", {STABLE_TRACK: 75, CANARY_TRACK: 25}, canary=NEW)
    assert track_replicas(progressing, spec(), 0, {}, {}) == {STABLE_TRACK: 0, CANARY_TRACK: 0}


def test_each_deployment_the_plan_asks_for_gets_its_model_and_replicas() -> None:
    progressing = plan("Progressing", {STABLE_TRACK: 75, CANARY_TRACK: 25}, canary=NEW)
    assert bot_tracks(progressing, spec(), 8, {}, {}) == (
        BotTrack(STABLE_TRACK, OLD, 6),
        BotTrack(CANARY_TRACK, NEW, 2),
    )
    assert bot_tracks(plan("Stable", {STABLE_TRACK: 100}), spec(), 8, {}, {}) == (
        BotTrack(STABLE_TRACK, OLD, 8),
    )
