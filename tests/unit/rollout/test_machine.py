"""The rollout's state machine, driven through time as the controller would drive it.

Every tick stores the status as JSON and reads it back, as the operator does through the
apiserver: `decide` keeps nothing else, so each scenario below also resumes after a restart at
every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard.api.bot import Bot
from switchboard.api.status import AnalysisResult, RolloutStatus
from switchboard.resources.common import STABLE_TRACK
from switchboard.rollout.machine import CANARY_TRACK, Plan, Route, Track, analysis_window, decide

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
ANALYSIS = {"interval": "1m", "metrics": [{"name": "containment-rate", "minRelative": -0.05}]}


def bot(version: str = "1.0.0", **rollout: Any) -> Bot:
    return Bot.model_validate(
        {
            "model": {
                "name": "router",
                "version": version,
                "uri": f"configmap://router-{version}/model.yaml",
            },
            "rollout": {"analysis": ANALYSIS, **rollout},
        }
    )


def verdict(kind: str) -> list[AnalysisResult]:
    """The analysis of the one metric: pass, fail, inconclusive with data, or no data."""
    if kind == "no data":
        return [
            AnalysisResult(metric="containment-rate", verdict="Inconclusive", message="no data")
        ]
    values = {"canary": 0.6, "stable": 0.7, "canary_count": 500, "stable_count": 2000}
    message = {"Fail": "the difference is below minRelative -0.05 (evidence 480)"}.get(kind)
    return [AnalysisResult(metric="containment-rate", verdict=kind, message=message, **values)]


PASS, FAIL, UNDECIDED, NO_DATA = (verdict(k) for k in ("Pass", "Fail", "Inconclusive", "no data"))


@dataclass
class Cluster:
    """What the controller sees: each track runs the model the last plan asked for (its pods
    are ready by the next tick unless `pods_start` is False), with `active` conversations."""

    now: datetime = T0
    status: RolloutStatus | None = None
    running: dict[str, str | None] = field(default_factory=dict)
    active: dict[str, int | None] = field(
        default_factory=lambda: {STABLE_TRACK: 5, CANARY_TRACK: 5}
    )
    pods_start: bool = True
    plans: list[Plan] = field(default_factory=list)

    def tick(
        self,
        spec: Bot,
        analysis: list[AnalysisResult] | None = None,
        control: str | None = None,
        after: timedelta = MINUTE,
    ) -> Plan:
        self.now += after
        tracks = {
            name: Track(self.running.get(name), self.active.get(name))
            for name in (STABLE_TRACK, CANARY_TRACK)
        }
        plan = decide(
            spec, self.status, analysis=analysis, control=control, tracks=tracks, now=self.now
        )
        self.status = RolloutStatus.model_validate_json(
            plan.status.model_dump_json(by_alias=True, exclude_none=True)
        )
        if self.pods_start:
            canary = plan.canary_model.version if plan.canary_model else None
            self.running = {STABLE_TRACK: plan.stable_model.version, CANARY_TRACK: canary}
        self.plans.append(plan)
        return plan

    def ticks(self, spec: Bot, count: int, **inputs: Any) -> Plan:
        for _ in range(count):
            plan = self.tick(spec, **inputs)
        return plan

    def events(self) -> list[str]:
        return [event.reason for plan in self.plans for event in plan.events]


def routes(plan: Plan) -> list[tuple[str, str, int]]:
    return [(r.track, r.version, r.weight) for r in plan.routes]


def started(version: str = "2.0.0", **rollout: Any) -> tuple[Cluster, Bot]:
    """A contact center on 1.0.0 whose spec moved to `version`, the canary at its first step."""
    cluster = Cluster()
    cluster.tick(bot("1.0.0", **rollout))
    spec = bot(version, **rollout)
    cluster.tick(spec)  # the canary Deployment is created
    cluster.tick(spec)  # its pods run: the first step starts
    return cluster, spec


def test_a_new_contact_center_serves_its_model_without_a_rollout() -> None:
    plan = Cluster().tick(bot())
    assert plan.status.phase == "Stable" and plan.status.stable is not None
    assert plan.status.stable.version == "1.0.0"
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 100)]
    assert plan.canary_model is None and plan.requeue_after is None
    assert plan.health.healthy and plan.events == ()


def test_a_new_version_starts_a_canary_once_its_pods_run() -> None:
    cluster = Cluster()
    cluster.tick(bot("1.0.0"))
    created = cluster.tick(bot("2.0.0"))
    assert created.status.phase == "Progressing" and created.status.weight == 0
    assert created.canary_model is not None and created.canary_model.version == "2.0.0"
    assert created.stable_model.version == "1.0.0"
    assert routes(created) == [(STABLE_TRACK, "1.0.0", 100)]
    first = cluster.tick(bot("2.0.0"))
    assert first.status.weight == 5 and first.status.started_at == cluster.now
    assert routes(first) == [(STABLE_TRACK, "1.0.0", 95), (CANARY_TRACK, "2.0.0", 5)]
    assert cluster.events() == ["RolloutStarted", "CanaryStarted"]
    assert analysis_window(first.status) is not None


def test_the_strategy_immediate_replaces_the_model_at_once() -> None:
    cluster = Cluster()
    cluster.tick(bot("1.0.0", strategy="Immediate"))
    plan = cluster.tick(bot("2.0.0", strategy="Immediate"))
    assert plan.status.phase == "Stable" and plan.stable_model.version == "2.0.0"
    assert routes(plan) == [(STABLE_TRACK, "2.0.0", 100)] and plan.canary_model is None
    assert cluster.events() == ["ModelReplaced"]


def test_a_step_lasts_its_pause_then_advances_when_every_metric_has_data() -> None:
    cluster, spec = started()
    held = cluster.ticks(spec, 4, analysis=UNDECIDED)
    assert held.status.step == 0 and held.status.weight == 5
    advanced = cluster.tick(spec, analysis=UNDECIDED)  # 5 minutes after the step began
    assert advanced.status.step == 1 and advanced.status.weight == 25
    assert routes(advanced) == [(STABLE_TRACK, "1.0.0", 75), (CANARY_TRACK, "2.0.0", 25)]
    assert cluster.events()[-1] == "RolloutStepAdvanced"
    assert advanced.status.analysis == UNDECIDED


def test_a_step_without_data_waits_and_aborts_with_no_data_at_the_deadline() -> None:
    cluster, spec = started()
    waiting = cluster.ticks(spec, 34, analysis=NO_DATA)  # the pause, then 29 minutes more
    assert waiting.status.phase == "Progressing" and waiting.status.step == 0
    assert waiting.status.message is not None and "containment-rate" in waiting.status.message
    aborted = cluster.tick(spec, analysis=NO_DATA)
    assert aborted.status.phase == "Aborted" and aborted.status.reason == "NoData"
    assert not aborted.health.healthy and aborted.health.reason == "NoData"
    assert routes(aborted) == [(STABLE_TRACK, "1.0.0", 100)]


def _to_last_step(cluster: Cluster, spec: Bot) -> None:
    cluster.ticks(spec, 10, analysis=UNDECIDED)
    assert cluster.status is not None and cluster.status.step == 2


def test_promotion_needs_every_metric_to_pass_and_aborts_inconclusive_at_the_deadline() -> None:
    cluster, spec = started()
    _to_last_step(cluster, spec)
    still = cluster.ticks(spec, 34, analysis=UNDECIDED)
    assert still.status.phase == "Progressing" and still.status.weight == 50
    aborted = cluster.tick(spec, analysis=UNDECIDED)
    assert (aborted.status.phase, aborted.status.reason) == ("Aborted", "Inconclusive")


def test_promotion_drains_each_track_before_its_model_changes() -> None:
    cluster, spec = started()
    _to_last_step(cluster, spec)
    cluster.ticks(spec, 4, analysis=PASS)
    first_half = cluster.tick(spec, analysis=PASS)
    assert first_half.status.phase == "Promoting"
    # The canary takes every new conversation; the stable bot keeps 1.0.0 for its own.
    assert routes(first_half) == [(CANARY_TRACK, "2.0.0", 100)]
    assert first_half.stable_model.version == "1.0.0"
    cluster.active[STABLE_TRACK] = 0
    switched = cluster.tick(spec)
    assert switched.stable_model.version == "2.0.0" and switched.status.phase == "Promoting"
    assert routes(switched) == [(CANARY_TRACK, "2.0.0", 100)]  # until the stable pods run 2.0.0
    promoted = cluster.tick(spec)
    assert promoted.status.phase == "Stable" and promoted.status.canary is None
    assert routes(promoted) == [(STABLE_TRACK, "2.0.0", 100)]
    assert promoted.canary_model is not None  # drains its conversations
    cluster.active[CANARY_TRACK] = 0
    gone = cluster.tick(spec)
    assert gone.canary_model is None and gone.requeue_after is None
    assert cluster.events()[-5:] == [
        "PromotionStarted",
        "DrainFinished",
        "StableModelUpdated",
        "RolloutPromoted",
        "DrainFinished",
    ]


def test_a_failing_metric_rolls_back_and_says_which_with_its_evidence() -> None:
    cluster, spec = started()
    cluster.ticks(spec, 2, analysis=UNDECIDED)
    plan = cluster.tick(spec, analysis=FAIL)
    assert plan.status.phase == "RolledBack" and plan.status.weight == 0
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 100)]
    assert plan.canary_model is not None and plan.canary_model.version == "2.0.0"  # draining
    assert not plan.health.healthy and plan.health.reason == "AnalysisFailed"
    for shown in ("2.0.0", "containment-rate", "minRelative -0.05", "evidence 480", "1.0.0"):
        assert shown in plan.health.message
    assert plan.status.rejected is not None and plan.status.rejected.version == "2.0.0"
    assert cluster.events()[-1] == "RolloutRolledBack"
    assert plan.events[-1].type == "Warning"


def test_the_same_version_does_not_restart_after_a_rollback_a_newer_one_does() -> None:
    cluster, spec = started()
    cluster.tick(spec, analysis=FAIL)
    held = cluster.ticks(spec, 10)
    assert held.status.phase == "RolledBack" and not held.health.healthy
    assert routes(held) == [(STABLE_TRACK, "1.0.0", 100)]
    newer = bot("2.0.1")
    waiting = cluster.tick(newer)
    # The canary track still drains 2.0.0: 2.0.1 waits for it.
    assert waiting.status.phase == "Progressing" and waiting.health.healthy
    assert waiting.canary_model is not None and waiting.canary_model.version == "2.0.0"
    cluster.active[CANARY_TRACK] = 0
    cluster.tick(newer)
    plan = cluster.tick(newer)
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 95), (CANARY_TRACK, "2.0.1", 5)]


def test_a_newer_version_mid_rollout_restarts_the_canary_after_the_older_drains() -> None:
    cluster, spec = started()
    cluster.ticks(spec, 6, analysis=UNDECIDED)
    newer = bot("3.0.0")
    restarted = cluster.tick(newer)
    assert restarted.status.canary is not None and restarted.status.canary.version == "3.0.0"
    assert restarted.status.weight == 0 and restarted.status.step == 0
    assert restarted.status.analysis == [] and restarted.status.started_at is None
    assert restarted.canary_model is not None and restarted.canary_model.version == "2.0.0"
    cluster.active[CANARY_TRACK] = 0
    assert cluster.tick(newer).canary_model.version == "3.0.0"  # type: ignore[union-attr]
    plan = cluster.tick(newer)
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 95), (CANARY_TRACK, "3.0.0", 5)]
    assert "RolloutRestarted" in cluster.events()


def test_reverting_the_spec_mid_rollout_cancels_without_rejecting() -> None:
    cluster, _ = started()
    plan = cluster.tick(bot("1.0.0"))
    assert plan.status.phase == "Stable" and plan.status.rejected is None
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 100)] and plan.health.healthy
    assert cluster.events()[-1] == "RolloutCancelled"


def test_pause_holds_the_step_a_failure_still_rolls_back() -> None:
    cluster, spec = started()
    paused = cluster.ticks(spec, 20, analysis=PASS, control="pause")
    assert paused.status.phase == "Paused" and paused.status.weight == 5
    assert routes(paused) == [(STABLE_TRACK, "1.0.0", 95), (CANARY_TRACK, "2.0.0", 5)]
    assert cluster.events().count("RolloutPaused") == 1
    failed = cluster.tick(spec, analysis=FAIL, control="pause")
    assert failed.status.phase == "RolledBack"


def test_resume_starts_the_steps_pause_over() -> None:
    cluster, spec = started()
    cluster.ticks(spec, 20, analysis=PASS, control="pause")
    resumed = cluster.tick(spec, analysis=PASS, control="resume")
    assert resumed.status.phase == "Progressing" and resumed.status.step == 0
    assert resumed.status.step_started_at == cluster.now
    assert cluster.ticks(spec, 4, analysis=PASS).status.step == 0
    assert cluster.tick(spec, analysis=PASS).status.step == 1
    assert "RolloutResumed" in cluster.events()


def test_promote_skips_the_remaining_steps_and_the_analysis() -> None:
    cluster, spec = started()
    plan = cluster.tick(spec, analysis=UNDECIDED, control="promote")
    assert plan.status.phase == "Promoting"
    assert routes(plan) == [(CANARY_TRACK, "2.0.0", 100)]


def test_abort_stops_the_rollout_and_the_version_is_not_retried() -> None:
    cluster, spec = started()
    plan = cluster.tick(spec, control="abort")
    assert (plan.status.phase, plan.status.reason) == ("Aborted", "Aborted")
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 100)]
    assert cluster.tick(spec).status.phase == "Aborted"  # annotation gone, spec unchanged


def test_abort_during_the_first_half_of_a_promotion_gives_the_stable_bot_its_traffic_back() -> None:
    cluster, spec = started()
    cluster.tick(spec, control="promote")
    plan = cluster.tick(spec, control="abort")
    assert plan.status.phase == "Aborted" and plan.stable_model.version == "1.0.0"
    assert routes(plan) == [(STABLE_TRACK, "1.0.0", 100)]
    assert [entry.track for entry in plan.status.draining] == [CANARY_TRACK]


def test_promote_on_a_rolled_back_version_rolls_it_out_and_promotes_it() -> None:
    cluster, spec = started()
    cluster.tick(spec, analysis=FAIL)
    cluster.active[CANARY_TRACK] = 0
    cluster.tick(spec, control="promote")  # the canary track drains, then runs 2.0.0 again
    cluster.tick(spec, control="promote")
    plan = cluster.tick(spec, control="promote")
    assert plan.status.phase == "Promoting"
    assert routes(plan) == [(CANARY_TRACK, "2.0.0", 100)]


def test_an_unknown_annotation_is_reported_once_and_ignored() -> None:
    cluster, spec = started()
    cluster.ticks(spec, 3, analysis=UNDECIDED, control="stop")
    warnings = [e for p in cluster.plans for e in p.events if e.reason == "InvalidRolloutControl"]
    assert len(warnings) == 1 and warnings[0].type == "Warning"
    assert "pause, resume, promote, abort" in warnings[0].message
    assert cluster.status is not None and cluster.status.phase == "Progressing"


def test_a_drain_ends_at_its_timeout_when_conversations_linger_or_are_unknown() -> None:
    cluster, spec = started()
    cluster.active[CANARY_TRACK] = None
    cluster.tick(spec, analysis=FAIL)
    kept = cluster.ticks(spec, 14)
    assert kept.canary_model is not None
    gone = cluster.tick(spec)
    assert gone.canary_model is None
    timed_out = [e for e in gone.events if e.reason == "DrainTimedOut"]
    assert timed_out and "unknown number" in timed_out[0].message


def test_a_canary_whose_pods_never_run_aborts_at_the_deadline() -> None:
    cluster = Cluster(pods_start=False)
    cluster.running = {STABLE_TRACK: "1.0.0", CANARY_TRACK: None}
    cluster.tick(bot("1.0.0"))
    spec = bot("2.0.0")
    waiting = cluster.ticks(spec, 30)
    assert waiting.status.phase == "Progressing" and waiting.status.weight == 0
    plan = cluster.tick(spec)
    assert (plan.status.phase, plan.status.reason) == ("Aborted", "CanaryNotReady")


def test_without_analysis_the_steps_follow_their_pauses() -> None:
    cluster = Cluster()
    cluster.tick(bot("1.0.0", analysis=None))
    spec = bot("2.0.0", analysis=None)
    weights = [cluster.tick(spec).status.weight for _ in range(17)]
    assert weights[1:17:5] == [5, 25, 50, 100]
    assert cluster.status is not None and cluster.status.phase == "Promoting"


def test_switching_to_immediate_mid_rollout_replaces_the_model_and_drains_the_canary() -> None:
    cluster, _ = started()
    plan = cluster.tick(bot("2.0.0", strategy="Immediate"))
    assert plan.status.phase == "Stable" and plan.stable_model.version == "2.0.0"
    assert routes(plan) == [(STABLE_TRACK, "2.0.0", 100)]
    assert plan.canary_model is not None  # its conversations finish on it


def test_the_plan_after_a_restart_is_the_plan_without_one() -> None:
    """The same inputs on the status read back from JSON, and on the status in memory."""
    cluster, spec = started()
    cluster.ticks(spec, 7, analysis=UNDECIDED)
    assert cluster.status is not None
    in_memory = cluster.plans[-1].status
    tracks = {STABLE_TRACK: Track("1.0.0", 3), CANARY_TRACK: Track("2.0.0", 2)}
    later = cluster.now + MINUTE
    for stored in (in_memory, cluster.status):
        assert stored == in_memory
        plan = decide(spec, stored, analysis=PASS, control=None, tracks=tracks, now=later)
        assert plan.status.step == 1 and routes(plan)[-1] == (CANARY_TRACK, "2.0.0", 25)


@pytest.mark.parametrize(("minutes", "expected"), [(1, 60.0), (4, 60.0), (4.75, 15.0)])
def test_the_next_look_is_at_the_next_interval_or_the_end_of_the_pause(
    minutes: float, expected: float
) -> None:
    cluster, spec = started()
    assert cluster.status is not None and cluster.status.step_started_at is not None
    plan = decide(
        spec,
        cluster.status,
        analysis=None,
        control=None,
        tracks={CANARY_TRACK: Track("2.0.0", 1), STABLE_TRACK: Track("1.0.0", 1)},
        now=cluster.status.step_started_at + timedelta(minutes=minutes),
    )
    assert plan.requeue_after == pytest.approx(expected)


def test_routes_are_what_the_routing_file_takes() -> None:
    cluster, spec = started()
    plan = cluster.tick(spec, analysis=UNDECIDED)
    assert all(isinstance(route, Route) and route.weight > 0 for route in plan.routes)
    assert sum(route.weight for route in plan.routes) == 100
