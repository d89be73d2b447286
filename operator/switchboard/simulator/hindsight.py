"""The hindsight oracle: for each report interval, the fewest replicas of each tier, ready at its
start, that meet the service-level target and the abandonment cap, found by trying them on the
day's own contacts.

It runs the day interval by interval from the state the day really reached (the contacts
waiting and in service, the servers still draining). At each interval's start, for the bot and
then for the agents (whose arrivals are the bot's handoffs), it tries a number of replicas on a
copy of the queues (`ContactCenterQueue.fork`): the copy runs through the interval, then holds
that capacity until every contact the tier was offered in the interval has been answered or has
left. The interval passes when its service level meets the target and its abandonment the cap,
and the interval before still does (its last waiting contacts meet this capacity). Bisection
finds the fewest that pass (more servers never make an interval worse, but for the rare contact
that more capacity keeps from leaving and who then takes a server); that many are ready at once,
and the day moves on to the next interval. When none within the maximum passes, it takes the
maximum.

No policy can do better on an interval without knowing the contacts in advance, so it is the
yardstick for capacity: replica-hours relative to it say what a policy pays for not knowing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

from switchboard.simulator.contacts import ContactStream
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.offline import DRAIN_LIMIT_SECONDS, DaySettings, report_intervals
from switchboard.simulator.report import DayReport, IntervalRecorder, TierReport
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.decision import ServiceTarget
from switchboard.sizing.workloads import WORKLOADS, Workload

# How long a tried capacity is held after its interval, at most, for its contacts to be served.
TAIL_LIMIT_SECONDS = 3600.0
TAIL_STEP_SECONDS = 60.0

Guess = Callable[[float], int]  # replicas a tier probably needs at a moment: where to start


def hindsight_day(
    profile: ArrivalProfile,
    contacts: ContactStream,
    target: ServiceTarget,
    settings: DaySettings,
    guesses: Mapping[Workload, Guess],
) -> DayReport:
    """The day under the hindsight oracle; `contacts` come from `offline.day_contacts` (the same
    as the policies meet), `guesses` speed up the search and do not change its answer."""
    interval = settings.report_interval
    opening = int((profile.start - contacts.profile.start) // interval)
    first_start = profile.start - opening * interval
    intervals = opening + report_intervals(profile, settings)
    recorder = IntervalRecorder(first_start, interval, intervals)
    queue = ContactCenterQueue(
        contacts,
        initial_servers={
            w: settings.initial_replicas[w] * settings.bounds[w].servers_per_replica
            for w in WORKLOADS
        },
        within_seconds=settings.within_seconds,
        observers=[recorder],
    )
    search = _Search(target, settings, recorder)
    at_boundaries: dict[Workload, list[float]] = {w: [] for w in WORKLOADS}
    capacity: dict[Workload, list[tuple[float, int]]] = {w: [] for w in WORKLOADS}
    for index in range(intervals):
        start = first_start + index * interval
        queue.run_until(start)
        if index >= opening:
            for workload in WORKLOADS:
                at_boundaries[workload].append(queue.counters(workload).server_seconds)
        for workload in WORKLOADS:
            replicas = search.fewest(queue, workload, index, guesses[workload](start))
            queue.set_servers(workload, replicas * settings.bounds[workload].servers_per_replica)
            if index >= opening:
                capacity[workload].append((start, queue.ready_servers(workload)))
    queue.run_until(profile.end)
    for workload in WORKLOADS:
        at_boundaries[workload].append(queue.counters(workload).server_seconds)
    drain_until = profile.end + DRAIN_LIMIT_SECONDS
    while queue.contacts_in_system and queue.now < drain_until:
        queue.run_until(queue.now + TAIL_STEP_SECONDS)
    return DayReport(
        policy="hindsight",
        target_service_level=settings.target_service_level,
        within_seconds=settings.within_seconds,
        tiers={
            w: TierReport(
                servers_per_replica=settings.bounds[w].servers_per_replica,
                intervals=tuple(
                    recorder.stats(w, opening + i, later - earlier)
                    for i, (earlier, later) in enumerate(
                        zip(at_boundaries[w], at_boundaries[w][1:], strict=False)
                    )
                ),
                capacity=tuple(capacity[w]),
            )
            for w in WORKLOADS
        },
    )


class _Search:
    def __init__(
        self, target: ServiceTarget, settings: DaySettings, recorder: IntervalRecorder
    ) -> None:
        self.target = target
        self.settings = settings
        self.recorder = recorder
        # Whether each tier's previous interval passed: if it could not, it binds nothing.
        self.passed: dict[Workload, bool] = {w: False for w in WORKLOADS}

    def fewest(self, queue: ContactCenterQueue, workload: Workload, index: int, guess: int) -> int:
        """The fewest replicas that pass: a search outwards from the guess in doubling steps
        brackets it, bisection finds it."""
        bounds = self.settings.bounds[workload]
        guess = bounds.clamp(guess)

        def passes(replicas: int) -> bool:
            return self._passes(queue, workload, index, replicas)

        fails = bounds.min_replicas - 1  # known to fail, or below the minimum
        passing: int | None = None
        step = 1
        if passes(guess):
            passing = guess
            while passing - step > fails:
                if not passes(passing - step):
                    fails = passing - step
                    break
                passing, step = passing - step, 2 * step
        else:
            fails = guess
            while passing is None and fails < bounds.max_replicas:
                trial = min(fails + step, bounds.max_replicas)
                if passes(trial):
                    passing = trial
                else:
                    fails, step = trial, 2 * step
            if passing is None:
                self.passed[workload] = False
                return bounds.max_replicas
        while passing - fails > 1:
            middle = (fails + passing) // 2
            if passes(middle):
                passing = middle
            else:
                fails = middle
        self.passed[workload] = True
        return passing

    def _passes(
        self, queue: ContactCenterQueue, workload: Workload, index: int, replicas: int
    ) -> bool:
        probe = copy.deepcopy(self.recorder)
        trial = queue.fork([probe])
        trial.set_servers(workload, replicas * self.settings.bounds[workload].servers_per_replica)
        end = probe.start + (index + 1) * probe.interval_seconds
        trial.run_until(end)
        judged = [index, index - 1] if index > 0 and self.passed[workload] else [index]
        while any(probe.unresolved(workload, i) for i in judged) and trial.now < end + (
            TAIL_LIMIT_SECONDS
        ):
            trial.run_until(trial.now + TAIL_STEP_SECONDS)
        return all(self._meets(probe, workload, i) for i in judged)

    def _meets(self, probe: IntervalRecorder, workload: Workload, index: int) -> bool:
        stats = probe.stats(workload, index)
        if not stats.offered:
            return True
        level, abandoned = stats.service_level, stats.abandon_rate
        assert level is not None and abandoned is not None
        cap = self.target.max_abandon
        return level >= self.target.target - 1e-12 and (cap is None or abandoned <= cap + 1e-12)
