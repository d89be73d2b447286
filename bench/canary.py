"""Offline benchmark: canary analysis by the operator's sequential test against a fixed
threshold checked every interval with a failure limit (as Flagger and Argo Rollouts analyses do).

One run, the same conversations for every policy (common random numbers): per seed and traffic
level, Poisson arrivals (the simulator's ArrivalProfile) of conversations that stay with the bot
a log-normal time (mean 90 s, CV 1) and then end contained, escalated or failed with their
model version's rates. The stable model contains 70% and fails 2%; the canary is equal to it, or
contains 5 or 10 points fewer (escalating them), or fails twice as often (4%, taken from the
escalations). New conversations go to the canary with the rollout's weight and stay on it.

switchboard: operator/switchboard/rollout itself (`analyze` then `decide` every interval) with
  the API's defaults (steps 5/25/50% of 5 minutes, interval 1m, progressDeadline 30m) and
  containment-rate minRelative -0.05, error-rate maxRelative 0.02, counted since the canary
  started. A rollback is any end other than promotion (a failed metric, or no conclusive
  analysis by the deadline).
threshold: the same bounds on the last minute's rates (Flagger's metric interval default), every
  interval; a check fails when a bound is broken or the canary had no conversation end (Flagger:
  "no values found", a failed check that halts advancement); rollback at the L-th failed check;
  a step advances once its pause passed and the last check passed, and the last one promotes.
  L = 1 is the default of both tools (Flagger analysis.threshold 1, Argo failureLimit 0);
  L = 5 is Flagger's documented example; "matched" is the smallest L whose false-rollback rate
  is at most switchboard's.

Per policy, over both traffic levels: false-rollback rate (equal model), detection rate per
regression, median canary conversations and minutes until the rollback (rolled-back runs). The
last line printed is one JSON object.

    .venv/bin/python -m bench.canary [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from switchboard.api.bot import Bot
from switchboard.api.types import duration_seconds
from switchboard.resources.common import STABLE_TRACK
from switchboard.rollout.analysis import Proportions, analyze
from switchboard.rollout.machine import CANARY_TRACK, Track, decide
from switchboard.rollout.sequential import Counts
from switchboard.simulator.contacts import LogNormal
from switchboard.simulator.traffic import ArrivalProfile

STABLE_CONTAINMENT, STABLE_FAILURE = 0.70, 0.02
CONVERSATION = LogNormal(mean=90.0, cv=1.0)
WARM_UP = 600.0  # seconds of stable-only traffic before the rollout, so stable conversations end
HORIZON = 3600.0  # the longest rollout: 15 minutes of steps and 30 of progress deadline, and more
TRAFFIC = {"low": 1.0, "high": 20.0}  # contacts per second
CONTAINMENT_MARGIN, FAILURE_MARGIN = -0.05, 0.02
LIMITS = range(1, 31)
DEFAULTS = {"limit 1 (Flagger and Argo defaults)": 1, "limit 5 (Flagger's example)": 5}
OUTCOMES = ("contained", "escalated", "failed")


@dataclass(frozen=True)
class Model:
    containment: float
    failure: float


CASES = {
    "equal": Model(STABLE_CONTAINMENT, STABLE_FAILURE),
    "containment_-5": Model(STABLE_CONTAINMENT - 0.05, STABLE_FAILURE),
    "containment_-10": Model(STABLE_CONTAINMENT - 0.10, STABLE_FAILURE),
    "failures_x2": Model(STABLE_CONTAINMENT, 2 * STABLE_FAILURE),
}
REGRESSIONS = [case for case in CASES if case != "equal"]


def rollout_spec(version: str) -> Bot:
    """The API's defaults, with the analysis this benchmark judges."""
    return Bot.model_validate(
        {
            "model": {
                "name": "router",
                "version": version,
                "uri": f"configmap://router-{version}/model.yaml",
            },
            "rollout": {
                "analysis": {
                    "metrics": [
                        {"name": "containment-rate", "minRelative": CONTAINMENT_MARGIN},
                        {"name": "error-rate", "maxRelative": FAILURE_MARGIN},
                    ]
                }
            },
        }
    )


STABLE_SPEC, CANARY_SPEC = rollout_spec("1.0.0"), rollout_spec("2.0.0")
ROLLOUT = CANARY_SPEC.rollout
assert ROLLOUT.analysis is not None
ANALYSIS = ROLLOUT.analysis
INTERVAL = duration_seconds(ANALYSIS.interval)
STEPS = [(step.weight, duration_seconds(step.pause)) for step in ROLLOUT.steps]


@dataclass(frozen=True)
class Traffic:
    """One seed's conversations at one traffic level, ordered by start; times from the
    rollout's start (negative: warm-up)."""

    start: np.ndarray
    end: np.ndarray
    route: np.ndarray  # uniform: the canary's if below its weight when the conversation starts
    draw: np.ndarray  # uniform: the outcome, against its version's rates
    by_end: np.ndarray  # indices ordered by end

    @classmethod
    def generate(cls, rate: float, seed: int) -> Traffic:
        profile = ArrivalProfile(-WARM_UP, WARM_UP + HORIZON, (rate,))
        stream = random.Random(f"{seed}/{rate}/arrivals")
        start = np.fromiter(profile.arrival_times(stream), dtype=float)
        lengths = random.Random(f"{seed}/{rate}/lengths")
        end = start + np.array([CONVERSATION.sample(lengths) for _ in start])
        uniforms = np.random.default_rng([seed, int(rate * 1000)]).random((2, start.size))
        return cls(start, end, uniforms[0], uniforms[1], np.argsort(end, kind="stable"))

    def outcomes(self, model: Model, indices: np.ndarray) -> np.ndarray:
        """0 contained, 1 escalated, 2 failed (an outcome draw maps the same way for every
        model, so models differ only where their rates do)."""
        draw = self.draw[indices]
        return np.where(draw < model.containment, 0, np.where(draw >= 1 - model.failure, 2, 1))


@dataclass
class Trajectory:
    """Conversations routed so far: each one's track (0 stable, 1 canary; -1 not started)."""

    traffic: Traffic
    canary: Model
    track: np.ndarray = field(init=False)
    outcome: np.ndarray = field(init=False)
    routed_until: float = -WARM_UP

    def __post_init__(self) -> None:
        size = self.traffic.start.size
        self.track = np.full(size, -1)
        self.outcome = np.full(size, -1)

    def route(self, until: float, canary_weight: int) -> None:
        """Conversations starting up to `until` go to the canary with this weight."""
        starts = self.traffic.start
        first, last = np.searchsorted(starts, [self.routed_until, until], side="right")
        indices = np.arange(first, last)
        on_canary = self.traffic.route[indices] < canary_weight / 100
        self.track[indices] = on_canary.astype(int)
        stable = Model(STABLE_CONTAINMENT, STABLE_FAILURE)
        self.outcome[indices] = np.where(
            on_canary,
            self.traffic.outcomes(self.canary, indices),
            self.traffic.outcomes(stable, indices),
        )
        self.routed_until = until

    def ended(self, since: float, until: float) -> np.ndarray:
        """Counts [track][outcome] of conversations that ended in (since, until]."""
        ends = self.traffic.end[self.traffic.by_end]
        first, last = np.searchsorted(ends, [since, until], side="right")
        indices = self.traffic.by_end[first:last]
        counts = np.zeros((2, 3))
        np.add.at(counts, (self.track[indices], self.outcome[indices]), 1)
        return counts

    def canary_conversations(self, until: float) -> int:
        started = self.traffic.start <= until
        return int(np.count_nonzero(started & (self.track == 1)))


@dataclass(frozen=True)
class Result:
    promoted: bool
    minutes: float
    conversations: int  # canary conversations started before the decision
    failed_metric: bool = False  # rolled back by a failing metric (not by a deadline)


def _proportions(counts: np.ndarray, outcome: int) -> Proportions:
    canary, stable = counts[1], counts[0]
    return Proportions(
        Counts(float(canary[outcome]), float(canary.sum())),
        Counts(float(stable[outcome]), float(stable.sum())),
    )


def run_switchboard(traffic: Traffic, canary: Model) -> Result:
    """The operator's state machine and analysis, every interval."""
    trajectory = Trajectory(traffic, canary)
    origin = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # The pods of each track run its model as soon as it is asked for.
    tracks = {STABLE_TRACK: Track("1.0.0"), CANARY_TRACK: Track("2.0.0")}
    plan = decide(STABLE_SPEC, None, analysis=None, control=None, tracks=tracks, now=origin)
    for _ in range(2):  # the canary Deployment is made, then takes its first step
        plan = decide(
            CANARY_SPEC, plan.status, analysis=None, control=None, tracks=tracks, now=origin
        )
    assert plan.status.weight == STEPS[0][0]
    trajectory.route(0.0, 0)
    moment = 0.0
    while moment < HORIZON:
        trajectory.route(moment + INTERVAL, plan.status.weight)
        moment += INTERVAL
        counts = trajectory.ended(0.0, moment)
        observed = {
            "containment-rate": _proportions(counts, 0),
            "error-rate": _proportions(counts, 2),
        }
        now = origin + timedelta(seconds=moment)
        verdicts = analyze(ANALYSIS, observed, plan.status.analysis, now)
        plan = decide(
            CANARY_SPEC, plan.status, analysis=verdicts, control=None, tracks=tracks, now=now
        )
        if plan.status.phase in ("Promoting", "RolledBack", "Aborted"):
            break
    phase = plan.status.phase
    conversations = trajectory.canary_conversations(moment)
    return Result(phase == "Promoting", moment / 60, conversations, phase == "RolledBack")


def _check(counts: np.ndarray) -> bool:
    """The threshold check on one interval's rates: both bounds kept, with data on both sides."""
    canary, stable = counts[1], counts[0]
    if canary.sum() == 0 or stable.sum() == 0:
        return False
    contained = canary[0] / canary.sum() - stable[0] / stable.sum()
    failed = canary[2] / canary.sum() - stable[2] / stable.sum()
    return bool(contained >= CONTAINMENT_MARGIN and failed <= FAILURE_MARGIN)


def run_threshold(traffic: Traffic, canary: Model) -> dict[int, Result]:
    """The fixed-threshold analysis for every failure limit at once: the trajectory is the same
    for all of them until a limit is reached."""
    trajectory = Trajectory(traffic, canary)
    trajectory.route(0.0, 0)
    results: dict[int, Result] = {}
    step, step_started, failures, moment = 0, 0.0, 0, 0.0
    while moment < HORIZON and len(results) < len(LIMITS):
        trajectory.route(moment + INTERVAL, STEPS[step][0])
        moment += INTERVAL
        passed = _check(trajectory.ended(moment - INTERVAL, moment))
        if not passed:
            failures += 1
            if failures in LIMITS and failures not in results:
                conversations = trajectory.canary_conversations(moment)
                results[failures] = Result(False, moment / 60, conversations, True)
        elif moment - step_started >= STEPS[step][1]:
            if step == len(STEPS) - 1:
                promoted = Result(True, moment / 60, trajectory.canary_conversations(moment))
                return {limit: results.get(limit, promoted) for limit in LIMITS}
            step, step_started = step + 1, moment
    undecided = Result(False, moment / 60, trajectory.canary_conversations(moment))
    return {limit: results.get(limit, undecided) for limit in LIMITS}


# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One policy's figures over some traffic levels."""

    false_rollback_rate: float
    detection_rate: dict[str, float]
    median_conversations_to_rollback: dict[str, float | None]
    median_minutes_to_rollback: dict[str, float | None]
    median_minutes_to_promotion: float | None
    rolled_back_by_failed_metric: dict[str, float]
    """Of the rollbacks, the share a failing metric caused (the rest: a deadline)."""

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Tally:
    """Results of one policy per (traffic level, case)."""

    results: dict[tuple[str, str], list[Result]] = field(default_factory=dict)

    def add(self, level: str, case: str, result: Result) -> None:
        self.results.setdefault((level, case), []).append(result)

    def runs(self, case: str, levels: Sequence[str]) -> list[Result]:
        return [r for level in levels for r in self.results.get((level, case), [])]

    def figures(self, levels: Sequence[str]) -> Figures:
        equal = self.runs("equal", levels)
        runs = {case: self.runs(case, levels) for case in REGRESSIONS}
        rolled_back = {case: [r for r in runs[case] if not r.promoted] for case in REGRESSIONS}
        return Figures(
            false_rollback_rate=_share(sum(not r.promoted for r in equal), len(equal)),
            detection_rate={c: _share(len(rolled_back[c]), len(runs[c])) for c in REGRESSIONS},
            median_conversations_to_rollback={
                c: _median([r.conversations for r in rolled_back[c]]) for c in REGRESSIONS
            },
            median_minutes_to_rollback={
                c: _median([r.minutes for r in rolled_back[c]]) for c in REGRESSIONS
            },
            median_minutes_to_promotion=_median([r.minutes for r in equal if r.promoted]),
            rolled_back_by_failed_metric={
                c: _share(sum(r.failed_metric for r in rolled_back[c]), len(rolled_back[c]))
                for c in REGRESSIONS
            },
        )


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def matched_limit(thresholds: dict[int, Tally], target: float, levels: Sequence[str]) -> int:
    """The smallest failure limit whose false-rollback rate is at most `target` (else the one
    with the fewest false rollbacks)."""
    rates = {limit: t.figures(levels).false_rollback_rate for limit, t in thresholds.items()}
    within = [limit for limit, rate in rates.items() if rate <= target]
    return min(within) if within else min(rates, key=lambda limit: (rates[limit], limit))


def table(title: str, rows: dict[str, Figures]) -> str:
    lines = [
        title,
        f"  {'policy':<38} {'false rb':>8} "
        + " ".join(f"{case:>17}" for case in REGRESSIONS)
        + f" {'promoted after':>14}",
        f"  {'':<38} {'':>8} "
        + " ".join(f"{'caught conv  min':>17}" for _ in REGRESSIONS)
        + f" {'min':>14}",
    ]
    for name, figures in rows.items():
        cells = [
            f"{figures.detection_rate[case]:>6.1%}"
            f" {_cell(figures.median_conversations_to_rollback[case], 5)}"
            f" {_cell(figures.median_minutes_to_rollback[case], 4)}"
            for case in REGRESSIONS
        ]
        lines.append(
            f"  {name:<38} {figures.false_rollback_rate:>8.1%} "
            + " ".join(f"{cell:>17}" for cell in cells)
            + f" {_cell(figures.median_minutes_to_promotion, 14)}"
        )
    return "\n".join(lines)


def _cell(value: float | None, width: int) -> str:
    return f"{value:>{width}.0f}" if value is not None else f"{'-':>{width}}"


def seeds_and_levels(seeds: int) -> Iterator[tuple[int, str, Traffic]]:
    for level, rate in TRAFFIC.items():
        for seed in range(1, seeds + 1):
            yield seed, level, Traffic.generate(rate, seed)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.canary", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="25 seeds per case instead of 200")
    args = parser.parse_args(argv)
    seeds = 25 if args.quick else 200
    began = time.perf_counter()
    ours, thresholds = Tally(), {limit: Tally() for limit in LIMITS}
    for _, level, traffic in seeds_and_levels(seeds):
        for case, model in CASES.items():
            ours.add(level, case, run_switchboard(traffic, model))
            for limit, result in run_threshold(traffic, model).items():
                thresholds[limit].add(level, case, result)
    print(__doc__.split("\n\n    .venv")[0])
    print(f"\n{seeds} seeds per case and traffic level.\n")
    levels = list(TRAFFIC)
    scopes = {f"{name} traffic ({TRAFFIC[name]:g} contacts/s)": [name] for name in levels}
    scopes["both traffic levels"] = levels
    for title, chosen in scopes.items():
        figures = ours.figures(chosen)
        limit = matched_limit(thresholds, figures.false_rollback_rate, chosen)
        rows = {"switchboard (sequential test)": figures}
        rows |= {f"threshold, {n}": thresholds[lim].figures(chosen) for n, lim in DEFAULTS.items()}
        rows[f"threshold, limit {limit} (matched)"] = thresholds[limit].figures(chosen)
        shares = ", ".join(
            f"{case} {share:.0%}" for case, share in figures.rolled_back_by_failed_metric.items()
        )
        print(table(title, rows))
        print(f"  switchboard's rollbacks by a failing metric (the rest at a deadline): {shares}\n")
    print(f"({time.perf_counter() - began:.0f} s)")
    both = ours.figures(levels)
    limit = matched_limit(thresholds, both.false_rollback_rate, levels)
    summary = {
        "switchboard": both.as_json(),
        "threshold": {"failure_limit": limit, **thresholds[limit].figures(levels).as_json()},
        "threshold_defaults": {
            name: thresholds[lim].figures(levels).as_json() for name, lim in DEFAULTS.items()
        },
        "per_traffic": {
            name: {
                "switchboard": ours.figures([name]).as_json(),
                "threshold": thresholds[limit].figures([name]).as_json(),
            }
            for name in levels
        },
        "seeds": seeds,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
