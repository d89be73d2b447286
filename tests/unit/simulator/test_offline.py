"""A simulated day under a policy per tier, and what its report says."""

from __future__ import annotations

import pytest

from switchboard.simulator.contacts import ContactModel, Exponential
from switchboard.simulator.offline import DaySettings, day_contacts, simulate_day
from switchboard.simulator.policies import DayPolicy, FixedPolicy, ReplicaBounds
from switchboard.simulator.report import DayReport
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.erlang import performance
from switchboard.sizing.workloads import Workload

PROFILE = ArrivalProfile(start=9 * 3600.0, slot_seconds=1800.0, rates=(100 / 1800,) * 8)
# The bot finishes 40% (30 s each); the rest reach the agents (180 s each).
CONTACTS = ContactModel(
    bot_handle_time=Exponential(30.0),
    agent_handle_time=Exponential(180.0),
    bot_containment=0.4,
    patience=Exponential(120.0),
)


def run(bot: int, agents: int, seed: int, seats_per_replica: int = 1) -> DayReport:
    bounds: dict[Workload, ReplicaBounds] = {
        "bot": ReplicaBounds(0, 1000, 1),
        "agents": ReplicaBounds(0, 1000, seats_per_replica),
    }
    replicas: dict[Workload, int] = {"bot": bot, "agents": agents // seats_per_replica}
    settings = DaySettings(bounds, initial_replicas=replicas)
    policy = DayPolicy("fixed", {w: FixedPolicy(r) for w, r in replicas.items()})
    return simulate_day(PROFILE, day_contacts(PROFILE, CONTACTS, seed), policy, settings)


def test_fixed_capacity_costs_replicas_times_hours() -> None:
    report = run(bot=6, agents=14, seed=1, seats_per_replica=2)
    bot, agents = report.tiers["bot"], report.tiers["agents"]
    assert len(bot.intervals) == len(agents.intervals) == 16
    assert bot.replica_hours == pytest.approx(6 * 4.0)
    assert agents.replica_hours == pytest.approx(7 * 4.0)
    assert report.replica_hours == pytest.approx(13 * 4.0)
    assert all(interval.mean_servers == pytest.approx(14) for interval in agents.intervals)
    assert agents.capacity[0] == (PROFILE.start, 14)


def test_each_tier_matches_erlang_a_over_the_day() -> None:
    report = run(bot=6, agents=8, seed=2)
    bot, agents = report.tiers["bot"], report.tiers["agents"]
    assert bot.offered == pytest.approx(800, rel=0.15)
    assert agents.offered == pytest.approx(0.6 * bot.offered, rel=0.1)
    for tier, rate, aht, servers in ((bot, 100 / 1800, 30.0, 6), (agents, 60 / 1800, 180.0, 8)):
        theory = performance(rate, aht, servers, 20.0, patience_seconds=120.0)
        assert tier.service_level == pytest.approx(theory.service_level, abs=0.06)
        assert tier.abandoned / tier.offered == pytest.approx(theory.abandonment, abs=0.03)


def test_understaffing_a_tier_shows_in_its_intervals_and_in_the_day() -> None:
    good = run(bot=6, agents=11, seed=3)
    bad = run(bot=6, agents=5, seed=3)
    assert good.sla_intervals_met > 0.8 > bad.sla_intervals_met
    assert bad.tiers["bot"].intervals == good.tiers["bot"].intervals  # upstream: untouched
    assert bad.abandon_rate > 0.1 > good.abandon_rate
    assert good.offered == bad.offered  # same contacts whatever the capacity


def test_intervals_met_count_both_tiers() -> None:
    report = run(bot=6, agents=5, seed=3)
    bot_met, bot_counted = report.tiers["bot"].intervals_met(0.8)
    agents_met, agents_counted = report.tiers["agents"].intervals_met(0.8)
    assert (bot_met, bot_counted, agents_counted) == (16, 16, 16)
    assert report.sla_intervals_met == pytest.approx((16 + agents_met) / 32)


def test_report_renders_as_table_and_json() -> None:
    report = run(bot=6, agents=11, seed=4)
    table = report.to_table()
    assert "09:00" in table and "12:45" in table and "intervals meeting the target" in table
    document = report.to_json()
    assert document["policy"] == "fixed"
    assert {"offered", "abandon_rate", "sla_intervals_met", "replica_hours"} <= set(
        document["totals"]
    )
    assert document["totals"]["agents"]["offered"] == report.tiers["agents"].offered
    assert [row["start"] for row in document["intervals"]["agents"]][:2] == ["09:00", "09:15"]
