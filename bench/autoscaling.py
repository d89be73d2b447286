"""Offline benchmark: the operator's SLA autoscaling against HPA- and KEDA-style scaling at a sweep
of their main setting, measured against a hindsight oracle, on both tiers of a contact center.

Same seeds, same traffic, the same contacts for every policy, through the contact-center
simulator (two queues in tandem: the bot's, then the agents' for the contacts it hands over):

1. the traffic of the SLA autoscaling issue: a real day of `fpp2/calls` (5-minute call counts of
   a North American bank, 07:00-21:05), Monday 2003-10-06, at half its volume, and a synthetic
   business day with a sudden 3x surge from 11:00 to 12:00;
2. four more real days of `fpp2/calls` at half volume: Tuesday 23 to Friday 26 September 2003
   (a week of the forecast bench's test window, chosen before any run; its Friday closes early
   at 19:55, the only such day in the data set).

The history of a real day (its forecast's) is the same day a week before, as the operator reads
it with its default `lookbackDays: 7`; the surge day's is one draw of its profile without the
surge.

`switchboard.sizing.decision.decide` was tuned on seeds 1-3 and checked on seeds 4-9 (and on
five fpp2/calls days its notes do not name), on the bank day and the surge day; this benchmark
runs seeds 10-13. `--days tuning --seeds 1-9` runs the same comparison on days 13 weeks before
the test days (7 July and 24-27 June 2003, with the surge day), where a change to the decision
may be chosen without looking at the test figures: the scale-down window's hold fading with its
age was chosen there (tuning: 99.79% of intervals at 1.085x the hindsight oracle, from 99.89% at
1.113x; test: 99.78% at 1.081x, from 99.93% at 1.112x), and so was sizing the rest of each
15-minute interval for what it needs to end at the target, service level and abandonment
(tuning: 99.27% at 1.055x; test: 99.34% at 1.052x).

Per policy, pooled over days and seeds: the share of 15-minute intervals meeting the service
level target (counting each tier's intervals), the abandonment rate (contacts that left at
either tier over contacts that arrived), and replica-hours (both tiers) relative to the
hindsight oracle's. hpa and keda run at several settings (`hpa@U`: target utilisation U; `keda@V`:
V contacts per replica as a multiple of the servers per replica); a plot of every policy's
(replica-hours, intervals met) is written under .bench/. The last line printed is one JSON
object.

    .venv/bin/python -m bench.autoscaling [--quick] [--jobs N] [--days test|tuning] [--seeds A-B]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from bench.forecast import SLOTS_PER_DAY, Calls, load_calls
from switchboard.simulator.contacts import ContactModel, Exponential, LogNormal
from switchboard.simulator.offline import day_contacts
from switchboard.simulator.policies import PolicySettings, ReplicaBounds, tier_traffic
from switchboard.simulator.report import DayReport
from switchboard.simulator.runs import HINDSIGHT, simulate
from switchboard.simulator.traffic import HOUR, ArrivalProfile, Trace, builtin_trace
from switchboard.sizing.decision import ServiceTarget
from switchboard.sizing.workloads import WORKLOADS, Workload

SLOT_SECONDS = 300.0
HISTORY_WEEKS = 1  # the operator's default forecast.lookbackDays (7): the same day last week
CALLS_SCALE = 0.5  # the bank peaks near 1.5 calls/s; half of it needs about 130 agents
SURGE_PEAK_RATE = 0.6  # contacts/s at the synthetic day's normal peak, before the surge
NAMED_DAY = date(2003, 10, 6)  # the SLA autoscaling issue's bank day
TEST_DAYS = (NAMED_DAY, *(date(2003, 9, day) for day in (23, 24, 25, 26)))
TUNING_DAYS = tuple(day - timedelta(weeks=13) for day in TEST_DAYS)
TEST_SEEDS = (10, 11, 12, 13)

CONTACTS = ContactModel(
    bot_handle_time=LogNormal(mean=90.0, cv=1.0),
    agent_handle_time=LogNormal(mean=300.0, cv=1.0),
    bot_containment=0.3,
    patience=Exponential(180.0),
)
TARGET = ServiceTarget(target=0.8, within_seconds=20.0, max_abandon=0.05)
BOUNDS: Mapping[Workload, ReplicaBounds] = {
    "bot": ReplicaBounds(min_replicas=1, max_replicas=1000, servers_per_replica=10),
    "agents": ReplicaBounds(min_replicas=1, max_replicas=1000, servers_per_replica=1),
}
SETTINGS = PolicySettings()
HPA_UTILISATIONS = (0.6, 0.7, 0.8, 0.9)
KEDA_MULTIPLES = (0.5, 0.75, 1.0, 1.25)
# switchboard's own main setting beside its default (300 s, the spec's): the scale-down window.
SWITCHBOARD_WINDOWS = (60.0, 120.0)

PLOT = Path(".bench") / "autoscaling-frontier.png"


@dataclass(frozen=True)
class Scenario:
    name: str
    trace: Trace


def bank_day(calls: Calls, day: date) -> Scenario:
    """A day of fpp2/calls at `CALLS_SCALE`, with its forecast's history."""
    index = calls.dates.index(day)
    history = tuple(
        tuple(count * CALLS_SCALE for count in calls.days[d])
        for d in calls.same_weekday(index, HISTORY_WEEKS)
    )
    counts = [count * CALLS_SCALE for count in calls.days[index]]
    profile = ArrivalProfile(7 * HOUR, SLOT_SECONDS, tuple(c / SLOT_SECONDS for c in counts))
    return Scenario(f"bank {day:%a %Y-%m-%d}", Trace(profile, history))


SURGE = "surge day (3x 11:00-12:00)"


def surge_day(seed: int) -> Scenario:
    history = random.Random(f"{seed}/history")
    return Scenario(SURGE, builtin_trace("surge", SURGE_PEAK_RATE, HISTORY_WEEKS, history))


def policy_runs() -> dict[str, tuple[str, PolicySettings]]:
    """Every policy of the comparison: its name here, the policy it runs, its settings."""
    runs = {
        "switchboard": ("switchboard", SETTINGS),
        HINDSIGHT: (HINDSIGHT, SETTINGS),
        "erlang-at-mean": ("erlang-at-mean", SETTINGS),
    }
    for window in SWITCHBOARD_WINDOWS:
        runs[f"switchboard@{window:g}s"] = (
            "switchboard",
            replace(SETTINGS, scale_down_window_seconds=window),
        )
    for utilisation in HPA_UTILISATIONS:
        runs[f"hpa@{utilisation:g}"] = ("hpa", replace(SETTINGS, hpa_utilisation=utilisation))
    for multiple in KEDA_MULTIPLES:
        runs[f"keda@{multiple:g}"] = ("keda", replace(SETTINGS, keda_messages_per_server=multiple))
    return runs


def run_scenario(scenario: Scenario, seed: int) -> dict[str, DayReport]:
    """Every policy on the same day with the same contacts."""
    day = scenario.trace.day
    contacts = day_contacts(day, CONTACTS, seed)
    traffic = tier_traffic(scenario.trace, CONTACTS, seed)
    return {
        name: simulate(policy, day, contacts, traffic, CONTACTS, TARGET, BOUNDS, settings)
        for name, (policy, settings) in policy_runs().items()
    }


@dataclass
class Pooled:
    """Figures of one policy pooled over days and seeds."""

    intervals: int = 0
    intervals_met: int = 0
    offered: int = 0
    abandoned: int = 0
    replica_hours: dict[str, float] = field(default_factory=lambda: dict.fromkeys(WORKLOADS, 0.0))

    def add(self, report: DayReport) -> None:
        for workload, tier in report.tiers.items():
            met, counted = tier.intervals_met(report.target_service_level)
            self.intervals_met += met
            self.intervals += counted
            self.abandoned += tier.abandoned
            self.replica_hours[workload] += tier.replica_hours
        self.offered += report.offered

    @property
    def total_replica_hours(self) -> float:
        return sum(self.replica_hours.values())

    def figures(self, hindsight: Pooled) -> dict[str, float]:
        return {
            "sla_intervals_met": round(self.intervals_met / self.intervals, 4),
            "abandon_rate": round(self.abandoned / self.offered, 4),
            "replica_hours_vs_hindsight": round(
                self.total_replica_hours / hindsight.total_replica_hours, 4
            ),
        }

    def tiers(self, hindsight: Pooled) -> dict[str, float]:
        return {
            workload: round(hours / hindsight.replica_hours[workload], 4)
            for workload, hours in self.replica_hours.items()
        }


def table(title: str, pooled: Mapping[str, Pooled]) -> str:
    hindsight = pooled[HINDSIGHT]
    rows = [
        title,
        f"  {'policy':<15} {'intervals met':>13} {'abandoned':>10} {'replica-h':>10} "
        f"{'vs hindsight':>13} {'bot':>7} {'agents':>7}",
    ]
    for name, figures in pooled.items():
        share, tiers = figures.figures(hindsight), figures.tiers(hindsight)
        rows.append(
            f"  {name:<15} {share['sla_intervals_met']:>13.1%} {share['abandon_rate']:>10.2%} "
            f"{figures.total_replica_hours:>10.1f} {share['replica_hours_vs_hindsight']:>13.3f} "
            f"{tiers['bot']:>7.3f} {tiers['agents']:>7.3f}"
        )
    return "\n".join(rows)


def verdict(result: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The issue's targets, said plainly."""
    mine = result["switchboard"]
    met, cost = mine["sla_intervals_met"], mine["replica_hours_vs_hindsight"]
    lines = [
        f"switchboard: {met:.2%} of intervals (target >= 99%) at {cost:.3f}x hindsight's "
        f"replica-hours (target <= 1.05): " + ("met" if met >= 0.99 and cost <= 1.05 else "NOT met")
    ]
    beating = [
        name
        for name, other in result.items()
        if name.startswith(("hpa@", "keda@"))
        and other["sla_intervals_met"] >= met
        and other["replica_hours_vs_hindsight"] < cost
    ]
    lines.append(
        "on or beyond the hpa and keda frontier: "
        + ("yes" if not beating else f"NO, {', '.join(beating)} meet as many for less")
    )
    for name, other in result.items():
        if name.startswith("switchboard@"):
            lines.append(
                f"{name} (scale-down window; not the default): "
                f"{other['sla_intervals_met']:.2%} at {other['replica_hours_vs_hindsight']:.3f}x"
            )
    return lines


def plot(result: Mapping[str, Mapping[str, float]], path: Path, title: str) -> None:
    """Each policy's (replica-hours vs hindsight, intervals met); hpa and keda as lines over
    their settings."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 6), layout="constrained")
    for family, colour in (
        ("hpa", "tab:orange"),
        ("keda", "tab:green"),
        ("switchboard", "tab:blue"),
    ):
        settings = {name.split("@")[1]: name for name in result if name.startswith(f"{family}@")}
        if family == "switchboard":
            settings["300s"] = "switchboard"
        ordered = sorted(
            settings.items(), key=lambda item: result[item[1]]["replica_hours_vs_hindsight"]
        )
        xs = [result[name]["replica_hours_vs_hindsight"] for _, name in ordered]
        ys = [100 * result[name]["sla_intervals_met"] for _, name in ordered]
        axes.plot(xs, ys, "o-", color=colour, alpha=0.6, label=f"{family} (setting beside each)")
        for (setting, _), x, y in zip(ordered, xs, ys, strict=True):
            axes.annotate(setting, (x, y), textcoords="offset points", xytext=(5, -12))
    for name, marker, colour in (
        ("switchboard", "*", "tab:blue"),  # its default, the 300 s window
        (HINDSIGHT, "D", "black"),
        ("erlang-at-mean", "s", "tab:gray"),
    ):
        figures = result[name]
        axes.plot(
            figures["replica_hours_vs_hindsight"],
            100 * figures["sla_intervals_met"],
            marker,
            color=colour,
            markersize=14 if marker == "*" else 8,
            linestyle="none",
            label=name,
        )
    axes.axhspan(99, 100.5, xmin=0, xmax=1, color="tab:blue", alpha=0.05)
    axes.axvline(1.05, color="tab:blue", linestyle=":", linewidth=1, label="target: 1.05x, 99%")
    axes.axhline(99, color="tab:blue", linestyle=":", linewidth=1)
    axes.set_xlabel("replica-hours relative to the hindsight oracle (both tiers)")
    axes.set_ylabel("15-minute intervals meeting 80/20, both tiers (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


SETTINGS_TEXT = """\
Contacts: every contact meets the bot first (log-normal time with it, mean 90 s, CV 1); the bot
  finishes 30% and hands 70% to the agents (log-normal handle time, mean 300 s, CV 1); patience
  exponential, mean 180 s, drawn for each queue. Target at each tier: 80% answered within 20 s
  (bot: from arrival; agents: from the handoff), at most 5% abandoned. A bot replica serves 10
  conversations, an agents replica one seat. New replicas are ready 60 s after they are asked for.
switchboard: sizing.decision.decide with its defaults (scale up at once, scale-down window
  300 s, what it holds fading over it) every 30 s per tier; arrivals over 15, 5 and 1 min (a
  measured rate counts when it lies 4 sigma of Poisson noise above the forecast), AHT over 1 h,
  backlog, contacts in the system, patience; forecast from the same day a week before (the
  agents': the escalations, the history thinned to 70%), its mean over the next 60 s; the
  15-minute interval's counts so far (offered, answered within 20 s, abandoned): the rest of
  the interval is sized for what it needs to end at the target.
switchboard@Ws: the same with a scale-down window of W seconds (not the default; shown to place
  switchboard's own trade-off beside hpa's and keda's, not chosen on these days).
hpa@U: CPU target utilisation U (CPU = share of the servers busy, 15 s average), 15 s sync, 10%
  tolerance, scale up by max(100%, 4 pods) per sync, scale-down stabilisation 300 s.
keda@V: RabbitMQ QueueLength trigger over HTTP on the tier's queue (ready + unacknowledged =
  waiting + in service), value V x servers per replica, through the same HPA rules.
erlang-at-mean: Erlang A sizing of each 5-minute slot's true mean rate and the true AHT, ready
  exactly in time (the previous benchmark's "oracle").
hindsight: for each 15-minute interval and tier, the fewest replicas, ready at its start, that
  meet 80/20 and the 5% cap on that interval's own contacts, from the state the day reached."""


def _seeds(text: str) -> tuple[int, ...]:
    first, _, last = text.partition("-")
    return tuple(range(int(first), int(last or first) + 1))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.autoscaling", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="one seed, the named bank day and the surge day"
    )
    parser.add_argument("--days", choices=("test", "tuning"), default="test")
    parser.add_argument(
        "--seeds", type=_seeds, help="seeds A-B (default: 10-13 on the test days, 1-9 on tuning)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes (default: 2)")
    args = parser.parse_args(argv)
    days = TEST_DAYS if args.days == "test" else TUNING_DAYS
    seeds = args.seeds or (TEST_SEEDS if args.days == "test" else _seeds("1-9"))
    if args.quick:
        days, seeds = days[:1], seeds[:1]
    started = time.perf_counter()
    calls = load_calls()
    assert len(calls.days[0]) == SLOTS_PER_DAY
    jobs = [(bank_day(calls, day), seed) for day in days for seed in seeds]
    jobs += [(surge_day(seed), seed) for seed in seeds]
    print(SETTINGS_TEXT)
    print(f"Days: {', '.join(f'{d:%a %Y-%m-%d}' for d in days)} and the surge day.")
    print(f"Seeds: {', '.join(map(str, seeds))}; figures pooled over seeds.\n")
    overall: dict[str, Pooled] = defaultdict(Pooled)
    per_scenario: dict[str, dict[str, Pooled]] = defaultdict(lambda: defaultdict(Pooled))
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = pool.map(run_scenario, *zip(*jobs, strict=True))
        for (scenario, _), reports in zip(jobs, outcomes, strict=True):
            for name, report in reports.items():
                overall[name].add(report)
                per_scenario[scenario.name][name].add(report)
    for name, pooled in per_scenario.items():
        print(table(name, pooled) + "\n")
    print(table("all days", overall) + "\n")
    result = {name: pooled.figures(overall[HINDSIGHT]) for name, pooled in overall.items()}
    print("\n".join(verdict(result)))
    title = f"{args.days} days, seeds {seeds[0]}-{seeds[-1]}"
    plot(result, PLOT, f"Autoscaling frontier ({title})")
    print(f"frontier plot: {PLOT.resolve()}")
    print(f"({time.perf_counter() - started:.0f} s)")
    summary = {
        "policies": result,
        "tiers": {name: pooled.tiers(overall[HINDSIGHT]) for name, pooled in overall.items()},
        "scenarios": {
            scenario: {name: p.figures(pooled[HINDSIGHT]) for name, p in pooled.items()}
            for scenario, pooled in per_scenario.items()
        },
        "days": [f"{d:%Y-%m-%d}" for d in days] + ["surge"],
        "seeds": list(seeds),
        "plot": str(PLOT),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
