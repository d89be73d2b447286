"""The canary rollout's state machine (docs/rollouts.md, "The state machine").

`decide` takes the spec, the stored `status.rollout`, the latest analysis, the manual control
annotation, what the two bot tracks report and the time, and returns the next status and what
the controller must make true: routing weights, the model of each bot Deployment (the canary's
only while it exists), events, the RolloutHealthy condition and when to look again. It is pure;
everything a rollout needs to resume after an operator restart is in the status it returns.

Conversations never change model: a bot track's model changes only after the track has drained
(no conversations left on it, or its drain timeout passed). So a promotion has two halves: the
canary takes every new conversation while the stable track drains the old model; then the
stable Deployment takes the new model and, once it runs it, takes the new conversations back
while the canary track drains and goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from switchboard.api.bot import Bot, BotModel
from switchboard.api.status import AnalysisResult, DrainingModel, ModelStatus, RolloutStatus
from switchboard.api.types import duration_seconds
from switchboard.resources.common import STABLE_TRACK
from switchboard.rollout.analysis import lacks_data

CANARY_TRACK = "canary"
CONTROL_ANNOTATION = "switchboard.io/rollout"
CONTROLS = ("pause", "resume", "promote", "abort")
CHECK_SECONDS = 30.0
"""How often a rollout without analysis, or a drain, is looked at."""
ACTIVE_PHASES = ("Progressing", "Paused", "Promoting")


@dataclass(frozen=True)
class Route:
    """The share of new conversations one bot track takes: an entry of the routing file."""

    track: str
    version: str
    weight: int


@dataclass(frozen=True)
class Track:
    """What the controller sees of one bot track."""

    running: str | None = None
    """The model version every pod of the track's Deployment runs once it is rolled out and
    available; None while it rolls out, or without a Deployment."""
    active_conversations: int | None = None
    """Conversations started on the track that the bot still serves; None: unknown."""


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Health:
    """The RolloutHealthy condition."""

    healthy: bool
    reason: str
    message: str


@dataclass(frozen=True)
class Plan:
    """What the controller applies and records."""

    status: RolloutStatus
    routes: tuple[Route, ...]
    """Weights of new conversations per track, for the routing file (tracks at 0 left out)."""
    stable_model: BotModel
    """The model of the stable bot Deployment."""
    canary_model: BotModel | None
    """The model of the canary bot Deployment; None: it must not exist."""
    events: tuple[Event, ...]
    health: Health
    requeue_after: float | None
    """Seconds until `decide` should run again; None: nothing is in progress."""


def decide(
    bot: Bot,
    stored: RolloutStatus | None,
    *,
    analysis: Sequence[AnalysisResult] | None,
    control: str | None,
    tracks: Mapping[str, Track],
    now: datetime,
) -> Plan:
    """The next step of the rollout. `analysis` is the verdict of `analysis.analyze` on the
    stored canary since its `startedAt`, or None when no analysis ran this time."""
    run = _Run(bot, tracks, now)
    if stored is None or stored.stable is None:
        status = RolloutStatus(stable=_model_status(bot.model))
    else:
        status = stored.model_copy(deep=True)
    status = run.read_control(status, control)
    status = run.finish_drains(status)
    status = run.advance(status, _valid_control(control), analysis)
    return Plan(
        status=status,
        routes=_routes(status),
        stable_model=_bot_model(status.stable or _model_status(bot.model)),
        canary_model=_canary_model(status),
        events=tuple(run.events),
        health=_health(status),
        requeue_after=run.requeue_after(status),
    )


def analysis_window(
    status: RolloutStatus | None,
) -> tuple[ModelStatus, ModelStatus, datetime] | None:
    """(canary, stable, since): whose outcomes the analysis counts now, and from when; None
    when no canary takes conversations."""
    if (
        status is None
        or status.phase not in ("Progressing", "Paused")
        or status.canary is None
        or status.stable is None
        or status.started_at is None
    ):
        return None
    return status.canary, status.stable, status.started_at


def _valid_control(control: str | None) -> str | None:
    return control if control in CONTROLS else None


def _model_status(model: BotModel) -> ModelStatus:
    return ModelStatus(name=model.name, version=model.version, uri=model.uri)


def _bot_model(model: ModelStatus) -> BotModel:
    return BotModel(name=model.name, version=model.version, uri=model.uri)


def _draining(status: RolloutStatus, track: str) -> DrainingModel | None:
    return next((entry for entry in status.draining if entry.track == track), None)


def _canary_running(status: RolloutStatus) -> ModelStatus | None:
    """The model on the canary track: the one it drains, else the rollout's canary."""
    draining = _draining(status, CANARY_TRACK)
    if draining is not None:
        return draining.model
    return status.canary if status.phase in ACTIVE_PHASES else None


def _canary_model(status: RolloutStatus) -> BotModel | None:
    running = _canary_running(status)
    return _bot_model(running) if running is not None else None


def _routes(status: RolloutStatus) -> tuple[Route, ...]:
    stable, canary = status.stable, status.canary
    assert stable is not None
    if status.phase == "Promoting" and canary is not None:
        return (Route(CANARY_TRACK, canary.version, 100),)
    if status.phase in ("Progressing", "Paused") and canary is not None and status.weight > 0:
        return (
            Route(STABLE_TRACK, stable.version, 100 - status.weight),
            Route(CANARY_TRACK, canary.version, status.weight),
        )
    return (Route(STABLE_TRACK, stable.version, 100),)


def _health(status: RolloutStatus) -> Health:
    message = status.message or ""
    if status.phase in ("RolledBack", "Aborted"):
        return Health(False, status.reason or status.phase, message)
    return Health(True, status.phase, message)


def _at(moment: datetime) -> str:
    return moment.strftime("%H:%M:%SZ")


def _where(index: int, steps: int, weight: int, version: str) -> str:
    return f"step {index + 1} of {steps}: {weight}% of new conversations to {version}"


def _with(status: RolloutStatus, **changes: Any) -> RolloutStatus:
    return status.model_copy(update=changes)


class _Run:
    """One call of `decide`: its inputs and the events it records."""

    def __init__(self, bot: Bot, tracks: Mapping[str, Track], now: datetime) -> None:
        self.bot, self.tracks, self.now = bot, tracks, now
        self.rollout = bot.rollout
        self.target = _model_status(bot.model)
        self.drain = timedelta(seconds=duration_seconds(self.rollout.drain_timeout))
        self.deadline = timedelta(seconds=duration_seconds(self.rollout.progress_deadline))
        self.events: list[Event] = []

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        self.events.append(Event("Warning" if warning else "Normal", reason, message[:1024]))

    def track(self, name: str) -> Track:
        return self.tracks.get(name, Track())

    # --- inputs that do not depend on the phase --------------------------------------------

    def read_control(self, status: RolloutStatus, control: str | None) -> RolloutStatus:
        """Records the annotation in force; a change is an event."""
        shown = control[:63] if control is not None else None
        if shown == status.control:
            return status
        if control is None:
            self.event("RolloutControl", f"annotation {CONTROL_ANNOTATION} removed")
        elif control in CONTROLS:
            self.event("RolloutControl", f"annotation {CONTROL_ANNOTATION}={control}")
        else:
            self.event(
                "InvalidRolloutControl",
                f"annotation {CONTROL_ANNOTATION}={shown} is not one of "
                f"{', '.join(CONTROLS)}; ignored",
                warning=True,
            )
        return _with(status, control=shown)

    def finish_drains(self, status: RolloutStatus) -> RolloutStatus:
        """Drops the drains whose conversations have ended or whose timeout passed."""
        kept = []
        for entry in status.draining:
            active = self.track(entry.track).active_conversations
            what = f"model {entry.model.version} on the {entry.track} bot"
            if active == 0:
                self.event("DrainFinished", f"{what}: its conversations have all ended")
            elif self.now >= entry.deadline:
                left = "an unknown number of" if active is None else str(active)
                self.event(
                    "DrainTimedOut",
                    f"{what}: {left} conversations left at the drain timeout",
                    warning=True,
                )
            else:
                kept.append(entry)
        return _with(status, draining=kept)

    def retire_canary(self, status: RolloutStatus) -> RolloutStatus:
        """The canary track takes no new conversations and drains the model it runs."""
        running = _canary_running(status)
        if running is None or _draining(status, CANARY_TRACK) is not None:
            return status
        entry = DrainingModel(track=CANARY_TRACK, model=running, deadline=self.now + self.drain)
        return _with(status, draining=[*status.draining, entry])

    # --- the phases ------------------------------------------------------------------------

    def advance(
        self,
        status: RolloutStatus,
        control: str | None,
        analysis: Sequence[AnalysisResult] | None,
    ) -> RolloutStatus:
        if status.phase in ACTIVE_PHASES and status.canary is None:
            status = _with(status, phase="Stable")  # nothing to roll out: repair
        if self.rollout.strategy == "Immediate":
            return self.replace(status)
        if status.phase == "Promoting":
            return self.promoting(status, control)
        if status.phase in ("Progressing", "Paused"):
            return self.progressing(status, control, analysis)
        return self.idle(status, control, analysis)

    def replace(self, status: RolloutStatus) -> RolloutStatus:
        """Immediate: the stable bot takes the spec's model at once."""
        if status.stable == self.target and status.phase == "Stable":
            return status
        if status.phase in ACTIVE_PHASES:
            status = self.retire_canary(status)
        if status.stable != self.target:
            before = status.stable.version if status.stable else "none"
            self.event(
                "ModelReplaced",
                f"model {self.target.version} replaces {before} at once (strategy Immediate)",
            )
        return _with(
            status,
            phase="Stable",
            stable=self.target,
            canary=None,
            weight=0,
            step=0,
            started_at=None,
            rejected=None,
            reason=None,
            draining=[entry for entry in status.draining if entry.track != STABLE_TRACK],
            message=f"model {self.target.version} serves (strategy Immediate)",
        )

    def idle(
        self,
        status: RolloutStatus,
        control: str | None,
        analysis: Sequence[AnalysisResult] | None,
    ) -> RolloutStatus:
        """Stable, RolledBack or Aborted: a new model in spec starts a rollout."""
        assert status.stable is not None
        if self.target == status.stable:
            if status.phase != "Stable":
                self.event(
                    "RolloutCleared",
                    f"spec names the stable model {status.stable.version} again",
                )
            return _with(
                status,
                phase="Stable",
                reason=None,
                rejected=None,
                message=f"model {status.stable.version} serves",
            )
        if self.target == status.rejected and control != "promote":
            return status
        steps = ", ".join(f"{step.weight}%" for step in self.rollout.steps)
        self.event(
            "RolloutStarted",
            f"rolling out model {self.target.version} (stable {status.stable.version}): "
            f"steps {steps}",
        )
        status = self.restart(status)
        return self.progressing(status, control, analysis)

    def restart(self, status: RolloutStatus) -> RolloutStatus:
        """A rollout of the spec's model, before the canary takes conversations."""
        return _with(
            status,
            phase="Progressing",
            canary=self.target,
            weight=0,
            step=0,
            started_at=None,
            step_started_at=self.now,
            rejected=None,
            reason=None,
            analysis=[],
        )

    def progressing(
        self,
        status: RolloutStatus,
        control: str | None,
        analysis: Sequence[AnalysisResult] | None,
    ) -> RolloutStatus:
        assert status.stable is not None and status.canary is not None
        if self.target == status.stable:
            self.event(
                "RolloutCancelled",
                f"spec names the stable model {status.stable.version} again; "
                f"canary {status.canary.version} drains",
            )
            return self.stop(status, "Stable", None, f"model {status.stable.version} serves")
        if self.target != status.canary:
            self.event(
                "RolloutRestarted",
                f"model {self.target.version} replaces canary {status.canary.version}, which "
                "drains; the rollout starts over",
            )
            status = self.restart(self.retire_canary(status))
        canary = status.canary
        assert canary is not None
        if control == "abort":
            return self.abort(status, "Aborted", f"aborted by annotation {CONTROL_ANNOTATION}")
        if status.started_at is None:
            return self.start(status, control)
        if control == "promote":
            return self.promote(status, f"promoted by annotation {CONTROL_ANNOTATION}")
        fresh = analysis if self.rollout.analysis is not None and analysis is not None else None
        if fresh is not None:
            status = _with(status, analysis=list(fresh))
        verdicts = status.analysis if self.rollout.analysis is not None else []
        failed = [v for v in fresh or () if v.verdict == "Fail"]
        if failed:
            reasons = "; ".join(f"{v.metric}: {v.message}" for v in failed)
            return self.abort(status, "AnalysisFailed", reasons, phase="RolledBack")
        if control == "pause":
            return self.pause(status)
        if status.phase == "Paused":
            self.event(
                "RolloutResumed",
                f"resumed at step {status.step + 1}; the step's pause starts over",
            )
            status = _with(status, phase="Progressing", step_started_at=self.now)
        return self.step(status, verdicts)

    def start(self, status: RolloutStatus, control: str | None) -> RolloutStatus:
        """Before the canary takes conversations: its track drains an older canary, then runs
        the new model."""
        canary = status.canary
        assert canary is not None
        if control == "pause":
            return _with(
                status,
                phase="Paused",
                message=f"paused by annotation before canary {canary.version} takes conversations",
            )
        if status.phase == "Paused":
            status = _with(status, phase="Progressing", step_started_at=self.now)
        older = _draining(status, CANARY_TRACK)
        if older is not None:
            active = self.track(CANARY_TRACK).active_conversations
            count = "its" if active is None else f"its {active}"
            return _with(
                status,
                message=(
                    f"waiting for {count} conversations on model {older.model.version} to end "
                    f"on the canary bot (at most until {_at(older.deadline)}) before "
                    f"{canary.version} starts"
                ),
            )
        if self.track(CANARY_TRACK).running == canary.version:
            first = self.rollout.steps[0].weight
            self.event(
                "CanaryStarted", f"canary {canary.version} takes {first}% of new conversations"
            )
            status = _with(
                status, started_at=self.now, step=0, weight=first, step_started_at=self.now
            )
            return self.step(status, [])
        waited_since = status.step_started_at or self.now
        if self.now >= waited_since + self.deadline:
            return self.abort(
                status,
                "CanaryNotReady",
                f"the canary bot did not run model {canary.version} within the progress "
                f"deadline {self.rollout.progress_deadline}",
            )
        return _with(status, message=f"waiting for the canary bot to run model {canary.version}")

    def step(self, status: RolloutStatus, verdicts: Sequence[AnalysisResult]) -> RolloutStatus:
        """Holds the step until its pause has passed, then advances, promotes or waits for the
        analysis (bounded by the progress deadline)."""
        steps = self.rollout.steps
        index = min(status.step, len(steps) - 1)
        assert status.step_started_at is not None and status.canary is not None
        pause_ends = status.step_started_at + timedelta(
            seconds=duration_seconds(steps[index].pause)
        )
        last = index == len(steps) - 1
        where = _where(index, len(steps), status.weight, status.canary.version)
        if self.now < pause_ends:
            return _with(status, step=index, message=f"{where} until {_at(pause_ends)}")
        waiting = self.waiting_for(verdicts, last)
        if not waiting:
            if last:
                return self.promote(status, "every step passed")
            following = steps[index + 1].weight
            self.event(
                "RolloutStepAdvanced",
                f"step {index + 2} of {len(steps)}: canary {status.canary.version} takes "
                f"{following}% of new conversations",
            )
            return _with(
                status,
                step=index + 1,
                weight=following,
                step_started_at=self.now,
                message=(
                    f"{_where(index + 1, len(steps), following, status.canary.version)} until "
                    f"{_at(self.now + timedelta(seconds=duration_seconds(steps[index + 1].pause)))}"
                ),
            )
        gave_up = pause_ends + self.deadline
        names = ", ".join(v.metric for v in waiting)
        if self.now >= gave_up:
            no_data = [v.metric for v in waiting if lacks_data(v)]
            reason = "NoData" if no_data else "Inconclusive"
            detail = (
                f"no data for {', '.join(no_data)}"
                if no_data
                else f"analysis still inconclusive for {names}"
            )
            return self.abort(
                status,
                reason,
                f"{detail} at the progress deadline {self.rollout.progress_deadline} "
                f"after step {index + 1}'s pause",
            )
        return _with(
            status,
            step=index,
            message=f"{where}; waiting for the analysis of {names} (at most until {_at(gave_up)})",
        )

    def waiting_for(self, verdicts: Sequence[AnalysisResult], last: bool) -> list[AnalysisResult]:
        """The metrics that hold the step: before the last step, those without data; before
        promotion, those that have not passed."""
        if self.rollout.analysis is None:
            return []
        found = {v.metric: v for v in verdicts}
        pending = [
            found.get(metric.name)
            or AnalysisResult(metric=metric.name, verdict="Inconclusive", message="no data")
            for metric in self.rollout.analysis.metrics
        ]
        if last:
            return [v for v in pending if v.verdict != "Pass"]
        return [v for v in pending if lacks_data(v)]

    def pause(self, status: RolloutStatus) -> RolloutStatus:
        if status.phase != "Paused":
            self.event(
                "RolloutPaused",
                f"paused by annotation at step {status.step + 1} ({status.weight}%)",
            )
        return _with(
            status,
            phase="Paused",
            message=(
                f"paused by annotation at step {status.step + 1}: {status.weight}% of new "
                "conversations to the canary; a failing analysis still rolls back"
            ),
        )

    def promote(self, status: RolloutStatus, why: str) -> RolloutStatus:
        """First half of a promotion: the canary takes every new conversation and the stable
        track drains the old model."""
        assert status.stable is not None and status.canary is not None
        self.event(
            "PromotionStarted",
            f"{why}: canary {status.canary.version} takes all new conversations while the "
            f"stable bot drains {status.stable.version}",
        )
        entry = DrainingModel(
            track=STABLE_TRACK, model=status.stable, deadline=self.now + self.drain
        )
        status = _with(
            status,
            phase="Promoting",
            weight=100,
            reason=None,
            draining=[*status.draining, entry],
        )
        return self.promoting(status, None)

    def promoting(self, status: RolloutStatus, control: str | None) -> RolloutStatus:
        stable, canary = status.stable, status.canary
        assert stable is not None and canary is not None
        if stable != canary:
            if control == "abort":
                status = _with(
                    status, draining=[e for e in status.draining if e.track != STABLE_TRACK]
                )
                return self.abort(
                    status, "Aborted", f"promotion aborted by annotation {CONTROL_ANNOTATION}"
                )
            old = _draining(status, STABLE_TRACK)
            if old is not None:
                return _with(
                    status,
                    message=(
                        f"canary {canary.version} takes all new conversations; waiting for "
                        f"conversations on {stable.version} to end on the stable bot (at most "
                        f"until {_at(old.deadline)})"
                    ),
                )
            self.event(
                "StableModelUpdated",
                f"the stable bot has drained {stable.version} and takes model {canary.version}",
            )
            status = _with(status, stable=canary)
        if self.track(STABLE_TRACK).running != canary.version:
            return _with(
                status,
                message=(
                    f"waiting for the stable bot to run {canary.version}; the canary takes "
                    "new conversations meanwhile"
                ),
            )
        self.event("RolloutPromoted", f"model {canary.version} promoted; the canary bot drains")
        status = self.retire_canary(status)
        return _with(
            status,
            phase="Stable",
            canary=None,
            weight=0,
            step=0,
            started_at=None,
            reason=None,
            message=f"model {canary.version} promoted and serves",
        )

    def abort(
        self,
        status: RolloutStatus,
        reason: str,
        why: str,
        *,
        phase: Literal["RolledBack", "Aborted"] = "Aborted",
    ) -> RolloutStatus:
        """Ends the rollout without promotion; spec keeps naming the model, status says why it
        does not run."""
        canary, stable = status.canary, status.stable
        assert canary is not None and stable is not None
        verb = "rolled back" if phase == "RolledBack" else "aborted"
        self.event(
            "RolloutRolledBack" if phase == "RolledBack" else "RolloutAborted",
            f"model {canary.version} {verb}: {why}",
            warning=True,
        )
        message = (
            f"model {canary.version} {verb} ({reason}): {why}. Stable {stable.version} serves; "
            f"change spec.bot.model to roll out another version, or annotate "
            f"{CONTROL_ANNOTATION}=promote to promote this one anyway"
        )
        stopped = self.stop(status, phase, reason, message)
        return _with(stopped, rejected=canary)

    def stop(
        self,
        status: RolloutStatus,
        phase: Literal["Stable", "RolledBack", "Aborted"],
        reason: str | None,
        message: str,
    ) -> RolloutStatus:
        status = self.retire_canary(status)
        return _with(
            status,
            phase=phase,
            canary=None,
            weight=0,
            started_at=None,
            reason=reason,
            message=message[:1024],
        )

    def requeue_after(self, status: RolloutStatus) -> float | None:
        if status.phase not in ACTIVE_PHASES and not status.draining:
            return None
        analysis = self.rollout.analysis
        period = duration_seconds(analysis.interval) if analysis is not None else CHECK_SECONDS
        if status.phase == "Progressing" and status.started_at is not None:
            assert status.step_started_at is not None
            step = self.rollout.steps[min(status.step, len(self.rollout.steps) - 1)]
            pause_ends = status.step_started_at + timedelta(seconds=duration_seconds(step.pause))
            until = (pause_ends - self.now).total_seconds()
            if until > 0:
                return max(1.0, min(period, until))
        return period
