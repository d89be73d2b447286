"""How the bot's replicas are shared between its tracks during a rollout (pure).

The bot is sized as a whole: spec.bot.replicas, or the autoscaler's decision over all contacts
(every contact reaches the bot first). A rollout's plan then says what each track does, and
each runs:

- taking new conversations: its share of the whole by its weight, at least one. The canary's
  share is rounded up (a small pool waits longer than a large one at the same load); the
  stable track runs the rest. Each share only grows as the whole grows and only shrinks as it
  shrinks, so a change of the whole never moves the two tracks opposite ways;
- about to take them: the canary before its first step (the share of that step), the stable
  track once it has taken the promoted model but before the conversations come back to it
  (all of it), so that capacity is ready before the conversations are;
- draining: what its remaining conversations need (never more than it runs), and all it runs
  while that count is unknown.

`sized` (the whole) is what the autoscaler decides and reads back; the tracks' replicas add
up to it only while no track is about to take conversations or draining.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from switchboard.api.bot import Bot
from switchboard.resources.common import STABLE_TRACK
from switchboard.resources.decisions import BotTrack
from switchboard.rollout.machine import CANARY_TRACK, Plan, Track


def bot_tracks(
    plan: Plan,
    bot: Bot,
    sized: int,
    tracks: Mapping[str, Track],
    running: Mapping[str, int],
) -> tuple[BotTrack, ...]:
    """The bot Deployments the plan asks for, each with its model and its replicas
    (`track_replicas`)."""
    replicas = track_replicas(plan, bot, sized, tracks, running)
    models = [(STABLE_TRACK, plan.stable_model), (CANARY_TRACK, plan.canary_model)]
    return tuple(
        BotTrack(track, model, replicas[track]) for track, model in models if model is not None
    )


def track_replicas(
    plan: Plan,
    bot: Bot,
    sized: int,
    tracks: Mapping[str, Track],
    running: Mapping[str, int],
) -> dict[str, int]:
    """Replicas per track of `plan` (stable, and canary while it has a Deployment), out of
    `sized` for the whole bot; `tracks`: the active conversations seen per track, `running`:
    the replicas each track's Deployment has now."""
    present = [STABLE_TRACK] + ([CANARY_TRACK] if plan.canary_model is not None else [])
    if sized == 0:
        return dict.fromkeys(present, 0)
    draining = {entry.track for entry in plan.status.draining}
    routed = {route.track: route.weight for route in plan.routes if route.weight > 0}
    replicas = _shares(sized, routed)
    for track in present:
        if track in replicas:
            continue
        if track in draining:
            active = tracks.get(track, Track()).active_conversations
            replicas[track] = _for_conversations(active, bot.concurrency, running.get(track))
        elif track == STABLE_TRACK:
            replicas[track] = sized
        else:
            first = bot.rollout.steps[0].weight
            replicas[track] = max(1, math.ceil(sized * first / 100))
    return replicas


def _shares(sized: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`sized` split by weight: the canary's share rounded up (at least one, leaving at least
    one), the stable track the rest."""
    if len(weights) <= 1:
        return dict.fromkeys(weights, sized)
    total = sum(weights.values())
    others = {
        track: min(max(math.ceil(sized * weight / total), 1), max(sized - 1, 1))
        for track, weight in weights.items()
        if track != STABLE_TRACK
    }
    return {STABLE_TRACK: max(sized - sum(others.values()), 1), **others}


def _for_conversations(active: int | None, concurrency: int, running: int | None) -> int:
    """A draining track's replicas: room for its remaining conversations, never more than it
    runs; what it runs while the count is unknown."""
    if active is None:
        return running if running is not None else 1
    needed = max(1, math.ceil(active / concurrency))
    return needed if running is None else min(running, needed)
