"""A simulated day under a policy, and what its report says."""

from __future__ import annotations

import pytest

from switchboard.simulator.contacts import ContactModel, Exponential
from switchboard.simulator.offline import DaySettings, simulate_day
from switchboard.simulator.policies import FixedPolicy, ReplicaBounds
from switchboard.simulator.traffic import ArrivalProfile
from switchboard.sizing.erlang import performance

PROFILE = ArrivalProfile(start=9 * 3600.0, slot_seconds=1800.0, rates=(100 / 1800,) * 8)
CONTACTS = ContactModel(Exponential(180.0), patience=Exponential(120.0))


def day(servers: int, servers_per_replica: int = 1) -> DaySettings:
    bounds = ReplicaBounds(0, 1000, servers_per_replica)
    return DaySettings(bounds, initial_replicas=servers // servers_per_replica)


def test_fixed_capacity_costs_servers_times_hours() -> None:
    report = simulate_day(PROFILE, CONTACTS, FixedPolicy(7), day(14, 2), seed=1)
    assert len(report.intervals) == 16
    assert report.replica_hours == pytest.approx(7 * 4.0)
    assert all(interval.mean_servers == pytest.approx(14) for interval in report.intervals)
    assert report.capacity[0] == (PROFILE.start, 14)


def test_report_figures_match_erlang_a_over_the_day() -> None:
    report = simulate_day(PROFILE, CONTACTS, FixedPolicy(12), day(12), seed=2)
    theory = performance(100 / 1800, 180.0, 12, 20.0, patience_seconds=120.0)
    assert report.offered == pytest.approx(800, rel=0.15)
    assert report.service_level == pytest.approx(theory.service_level, abs=0.06)
    assert report.abandon_rate == pytest.approx(theory.abandonment, abs=0.03)


def test_understaffing_shows_in_the_intervals() -> None:
    good = simulate_day(PROFILE, CONTACTS, FixedPolicy(16), day(16), seed=3)
    bad = simulate_day(PROFILE, CONTACTS, FixedPolicy(8), day(8), seed=3)
    assert good.sla_intervals_met > 0.8 > bad.sla_intervals_met
    assert bad.abandon_rate > 0.1 > good.abandon_rate
    assert good.offered == bad.offered  # same contacts whatever the capacity


def test_report_renders_as_table_and_json() -> None:
    report = simulate_day(PROFILE, CONTACTS, FixedPolicy(14), day(14), seed=4)
    table = report.to_table()
    assert "09:00" in table and "12:45" in table and "intervals meeting the target" in table
    document = report.to_json()
    assert document["policy"] == "fixed"
    assert set(document["totals"]) == {
        "offered",
        "service_level",
        "abandon_rate",
        "sla_intervals_met",
        "replica_hours",
    }
    assert [row["start"] for row in document["intervals"]][:2] == ["09:00", "09:15"]
