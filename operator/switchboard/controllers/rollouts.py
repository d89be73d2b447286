"""The rollout loop (docs/rollouts.md): for every ContactCenter whose rollout is in progress,
or whose spec, rollout annotation or bot Deployments just changed, read what the bot tracks
report and, every `rollout.analysis.interval`, the canary's counts from Prometheus; call
`machine.decide`; and hand the plan to the reconcile, which applies it (the routing weights,
the bot Deployments, the HTTPRoute) and records it (status.rollout, RolloutHealthy, events):
one writer of status.

The latest plan per ContactCenter is kept here and the next one decided from it. A restarted
operator has none: its first decision starts from status.rollout as stored, so a rollout
resumes at the step and weight it had.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import ValidationError

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import AnalysisResult, RolloutStatus
from switchboard.api.types import duration_seconds
from switchboard.controllers.caches import CachedChild, Caches, Key
from switchboard.controllers.ticks import TICK_SECONDS, Work, tick_every_contact_center
from switchboard.metrics import operator as metrics
from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus, PrometheusClients
from switchboard.metrics.rollout import active_conversations, observe_analysis, served_versions
from switchboard.resources.bot import bot_name, running_version
from switchboard.resources.common import STABLE_TRACK
from switchboard.rollout.analysis import analyze
from switchboard.rollout.machine import (
    ACTIVE_PHASES,
    CANARY_TRACK,
    CONTROL_ANNOTATION,
    Event,
    Plan,
    Track,
    analysis_window,
    decide,
)

logger = logging.getLogger(__name__)

TRACKS = (STABLE_TRACK, CANARY_TRACK)
PHASES: tuple[str, ...] = get_args(RolloutStatus.model_fields["phase"].annotation)


@dataclass(frozen=True)
class RolloutOutcome:
    """The latest plan for one ContactCenter, and the tracks as seen when it was decided."""

    plan: Plan
    tracks: Mapping[str, Track]


@dataclass
class Rollouts:
    caches: Caches
    enqueue: Callable[[Key], None]
    outcomes: dict[Key, RolloutOutcome] = field(default_factory=dict)
    # Events of plans decided and not yet recorded: the reconcile posts them.
    pending: dict[Key, list[Event]] = field(default_factory=dict)
    due: dict[Key, float] = field(default_factory=dict)
    analyzed: dict[Key, float] = field(default_factory=dict)
    seen: dict[Key, Hashable] = field(default_factory=dict)
    # The inputs of each ContactCenter as of its cached change count: looked at every second.
    looked: dict[Key, tuple[int | None, Hashable]] = field(default_factory=dict)
    clients: PrometheusClients = field(default_factory=PrometheusClients)
    # The model each cached bot Deployment runs, read once per body seen: every ContactCenter's
    # inputs are compared every tick, and a cached body is parsed to be read.
    versions: weakref.WeakKeyDictionary[CachedChild, str | None] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    async def run(self) -> None:
        """Decides for each ContactCenter when its plan asked to be looked at again, or at
        once when what it decides from changed."""
        await tick_every_contact_center(
            self.caches, self._due, lambda: self.seen.keys() | self.looked.keys(), self._forget
        )

    def _due(self, key: Key, body: dict[str, Any], now: float) -> Work | None:
        if key[0] not in self.caches.listed_namespaces:
            return None  # the bot Deployments are not known until a reconcile lists them
        changes = self.caches.changes.get(key)
        looked = self.looked.get(key)
        if looked is None or looked[0] != changes:
            looked = self.looked[key] = (changes, self._inputs(key, body))
        unchanged = looked[1] == self.seen.get(key)
        if unchanged and now < self.due.get(key, math.inf):
            return None
        return self._tick_safely(key, body)

    def current(self, cc: ContactCenter, body: Mapping[str, Any]) -> RolloutOutcome:
        """The plan the reconcile applies: the latest, or for a ContactCenter not decided yet
        (new, or the operator just started), one decided now from the stored status and the
        cached bot Deployments, without analysis."""
        key = (cc.namespace, cc.name)
        if key not in self.outcomes:
            tracks = {track: Track(self._running(cc, track)) for track in TRACKS}
            self._decide(key, cc, body, None, tracks)
        return self.outcomes[key]

    def take_events(self, key: Key) -> list[Event]:
        """The events of the plans decided since the last call, for the reconcile to post
        once it has recorded their status."""
        return self.pending.pop(key, [])

    # --- one decision ------------------------------------------------------------------------

    async def _tick_safely(self, key: Key, body: dict[str, Any]) -> None:
        try:
            await self.tick(key, body)
        except Exception:
            logger.exception("the rollout of %s/%s failed; trying again", *key)
            self.due[key] = time.monotonic() + TICK_SECONDS * 10

    async def tick(self, key: Key, body: dict[str, Any]) -> None:
        try:
            cc = ContactCenter.model_validate(body)
        except ValidationError:  # the reconciler reports it; a new spec comes with a decision
            self.seen[key], self.due[key] = self._inputs(key, body), math.inf
            return
        status = self._latest(key, cc)
        url = cc.spec.metrics.prometheus_url
        prometheus = self.clients.get(str(url)) if url is not None else None
        tracks = await self._tracks(cc, status, prometheus)
        window = analysis_window(status)
        analysis = None
        if prometheus is not None and window is not None and self._analysis_due(key, cc):
            analysis = await self._analyze(cc, prometheus, status, window)
        # The status may have moved on while Prometheus answered (a first reconcile decided):
        # counts of another canary's window say nothing about this one.
        if analysis_window(self._latest(key, cc)) != window:
            analysis = None
        self._decide(key, cc, body, analysis, tracks)

    def _decide(
        self,
        key: Key,
        cc: ContactCenter,
        body: Mapping[str, Any],
        analysis: list[AnalysisResult] | None,
        tracks: Mapping[str, Track],
    ) -> None:
        """Decides from the latest status, keeps the plan and asks for a reconcile. Runs
        without awaiting anything, so no two decisions of one key interleave."""
        annotations = cc.metadata.annotations or {}
        plan = decide(
            cc.spec.bot,
            self._latest(key, cc),
            analysis=analysis,
            control=annotations.get(CONTROL_ANNOTATION),
            tracks=tracks,
            now=datetime.now(UTC),
        )
        self.outcomes[key] = RolloutOutcome(plan, tracks)
        self.pending.setdefault(key, []).extend(plan.events)
        self.seen[key] = self._inputs(key, body)
        wait = plan.requeue_after
        self.due[key] = time.monotonic() + wait if wait is not None else math.inf
        if analysis is not None:
            self.analyzed[key] = time.monotonic()
        _record_metrics(key, plan, analysis)
        self.enqueue(key)

    def _latest(self, key: Key, cc: ContactCenter) -> RolloutStatus | None:
        """The status the next decision starts from: the last plan's, else the stored one."""
        outcome = self.outcomes.get(key)
        if outcome is not None:
            return outcome.plan.status
        return cc.status.rollout

    def _analysis_due(self, key: Key, cc: ContactCenter) -> bool:
        analysis = cc.spec.bot.rollout.analysis
        if analysis is None or not analysis.metrics:
            return False
        last = self.analyzed.get(key)
        # A tick late at most: the loop looks once a second.
        interval = duration_seconds(analysis.interval) - TICK_SECONDS
        return last is None or time.monotonic() - last >= interval

    async def _analyze(
        self,
        cc: ContactCenter,
        prometheus: Prometheus,
        status: RolloutStatus | None,
        window: tuple[Any, Any, datetime],
    ) -> list[AnalysisResult] | None:
        """The verdicts on the canary's counts since it began; None when Prometheus cannot
        answer (the step holds: no data is never a failure)."""
        analysis = cc.spec.bot.rollout.analysis
        assert analysis is not None and status is not None
        canary, stable, since = window
        now = datetime.now(UTC)
        try:
            observed = await observe_analysis(
                prometheus, cc, analysis, (canary, stable), since, now
            )
        except MetricsUnavailable as error:
            logger.warning("no analysis of %s/%s this time: %s", cc.namespace, cc.name, error)
            return None
        return analyze(analysis, observed, status.analysis, now)

    # --- what the tracks show -----------------------------------------------------------------

    async def _tracks(
        self, cc: ContactCenter, status: RolloutStatus | None, prometheus: Prometheus | None
    ) -> dict[str, Track]:
        draining = {entry.track: entry.model.version for entry in status.draining} if status else {}
        in_progress = bool(draining) or (status is not None and status.phase in ACTIVE_PHASES)
        tracks = {}
        for track in TRACKS:
            running = self._running(cc, track)
            active = None
            if prometheus is not None and in_progress:
                running = await self._serving(cc, prometheus, track, running)
                if track in draining:
                    active = await active_conversations(prometheus, cc, track, draining[track])
            tracks[track] = Track(running, active)
        return tracks

    def _running(self, cc: ContactCenter, track: str) -> str | None:
        cached = self.caches.children.get(("Deployment", cc.namespace, bot_name(cc, track)))
        return self._version(cached) if cached is not None else None

    def _version(self, cached: CachedChild) -> str | None:
        if cached not in self.versions:
            self.versions[cached] = running_version(cached.parsed())
        return self.versions[cached]

    async def _serving(
        self, cc: ContactCenter, prometheus: Prometheus, track: str, running: str | None
    ) -> str | None:
        """The version a rolled-out track runs, unless a replica of it is still seen serving
        another (a pod the Deployment let go may still take conversations until it stops):
        a conversation must never reach a model it did not start on."""
        if running is None:
            return None
        served = await served_versions(prometheus, cc, track)
        if served and set(served) - {running}:
            return None
        return running

    def _inputs(self, key: Key, body: Mapping[str, Any]) -> Hashable:
        """What a decision depends on besides time and Prometheus: the spec's generation, the
        rollout annotation, and the model each bot Deployment runs."""
        meta = body.get("metadata", {})
        bots = []
        for child in sorted(self.caches.by_instance.get(key, ())):
            cached = self.caches.children.get(child)
            if child[0] == "Deployment" and cached and cached.component == "bot":
                bots.append((child[2], self._version(cached)))
        control = meta.get("annotations", {}).get(CONTROL_ANNOTATION)
        return (meta.get("generation"), control, tuple(bots))

    def _forget(self, key: Key) -> None:
        self.outcomes.pop(key, None)
        self.pending.pop(key, None)
        self.due.pop(key, None)
        self.analyzed.pop(key, None)
        self.seen.pop(key, None)
        self.looked.pop(key, None)
        for phase in PHASES:
            metrics.ROLLOUT_PHASE.remove(*key, phase)
        metrics.ROLLOUT_WEIGHT.remove(*key)

    async def close(self) -> None:
        await self.clients.close()


def _record_metrics(key: Key, plan: Plan, analysis: list[AnalysisResult] | None) -> None:
    labels = {"namespace": key[0], "contact_center": key[1]}
    for phase in PHASES:
        metrics.ROLLOUT_PHASE.labels(**labels, phase=phase).set(
            1 if plan.status.phase == phase else 0
        )
    metrics.ROLLOUT_WEIGHT.labels(**labels).set(plan.status.weight)
    for result in analysis or ():
        metrics.ROLLOUT_ANALYSIS.labels(
            **labels, metric=result.metric, verdict=result.verdict
        ).inc()
