"""The Lease records leader election writes and when a candidate may take the lease, as
client-go's leaderelection package defines them (tryAcquireOrRenew, release, isLeaseValid)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switchboard.controllers.leadership import (
    LeaseRecord,
    Timings,
    claimed,
    must_wait,
    released,
)

T0 = datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
LATER = T0 + timedelta(seconds=2)


def test_the_first_claim_creates_the_record_with_no_transition() -> None:
    record = claimed(None, "a", T0, 15.0)
    assert record == LeaseRecord("a", 15, T0, T0, 0)


def test_a_renewal_moves_only_the_renew_time() -> None:
    held = LeaseRecord("a", 15, T0, T0, 3)
    assert claimed(held, "a", LATER, 15.0) == LeaseRecord("a", 15, T0, LATER, 3)


@pytest.mark.parametrize("previous", ["b", ""])
def test_a_takeover_starts_a_term_and_counts_a_transition(previous: str) -> None:
    """From another holder whose lease expired, or from a released lease."""
    record = claimed(LeaseRecord(previous, 15, T0, T0, 3), "a", LATER, 15.0)
    assert record == LeaseRecord("a", 15, LATER, LATER, 4)


def test_a_fraction_of_a_second_rounds_the_lease_up() -> None:
    """leaseDurationSeconds is whole seconds: rounding down would promise less than asked."""
    assert claimed(None, "a", T0, 7.5).lease_duration_seconds == 8


def test_a_released_lease_names_nobody_and_keeps_the_count() -> None:
    record = released(LeaseRecord("a", 15, T0, T0, 3), LATER)
    assert record == LeaseRecord("", 1, LATER, LATER, 3)


def test_a_candidate_waits_a_full_lease_after_it_last_saw_a_change() -> None:
    held = LeaseRecord("b", 15, T0, T0, 0)
    assert must_wait(held, "a", unchanged_since=100.0, now=114.9)
    assert not must_wait(held, "a", unchanged_since=100.0, now=115.0)


def test_nobody_waits_for_a_released_lease_or_for_itself() -> None:
    assert not must_wait(LeaseRecord("", 1, T0, T0, 2), "a", unchanged_since=100.0, now=100.0)
    assert not must_wait(LeaseRecord("a", 15, T0, T0, 2), "a", unchanged_since=100.0, now=100.0)


def test_the_wait_is_the_lease_s_own_duration_not_the_candidate_s() -> None:
    """A leader configured with a longer lease is waited for as long as it asked."""
    held = LeaseRecord("b", 60, T0, T0, 0)
    assert must_wait(held, "a", unchanged_since=100.0, now=159.0)


@pytest.mark.parametrize(
    ("timings", "problem"),
    [
        (Timings(15.0, 10.0, 2.0), None),
        (Timings(10.0, 10.0, 2.0), "--renew-deadline must be shorter than --lease-duration"),
        (Timings(15.0, 10.0, 9.0), "--renew-deadline must be longer than 1.2 x --retry-period"),
    ],
)
def test_unsafe_timings_are_refused(timings: Timings, problem: str | None) -> None:
    """client-go refuses the same: a renew deadline that reaches the lease's end would let a
    candidate take over while the leader still acts."""
    assert timings.problem() == problem
