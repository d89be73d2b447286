"""Erlang C / Erlang A against references that do not share our code.

References: the classic worked example, exact rational arithmetic for Erlang B, pyworkforce (an
independent Erlang C implementation), the closed form of M/M/n+M when patience equals the handle
time, and a seeded discrete-event simulation of M/M/n+M.
"""

from __future__ import annotations

import heapq
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC

from switchboard.sizing.erlang import (
    InfeasibleTarget,
    erlang_b,
    performance,
    required_servers,
)

CLASSIC_RATE = 100 / 1800  # 100 contacts per 30 minutes


def test_classic_worked_example() -> None:
    """100 contacts per 30 minutes, AHT 180 s, 80/20 -> 14 agents, SL 0.888, P(wait) 0.174."""
    sized = required_servers(CLASSIC_RATE, 180, target=0.8, within_seconds=20)
    assert sized.servers == 14
    assert sized.service_level == pytest.approx(0.888, abs=5e-4)
    assert sized.wait_probability == pytest.approx(0.174, abs=5e-4)
    assert sized.occupancy == pytest.approx(10 / 14)
    assert sized.abandonment == 0.0
    assert performance(CLASSIC_RATE, 180, 13, 20).service_level < 0.8


def _exact_erlang_b(servers: int, load: Fraction) -> float:
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return float(terms[-1] / sum(terms))


@pytest.mark.parametrize(
    ("servers", "load"),
    [
        (1, Fraction(1, 2)),
        (5, Fraction(2)),
        (10, Fraction(5)),
        (30, Fraction(57, 2)),
        (60, Fraction(80)),
        (100, Fraction(99, 1)),
    ],
)
def test_erlang_b_matches_exact_rational_arithmetic(servers: int, load: Fraction) -> None:
    exact = _exact_erlang_b(servers, load)
    assert erlang_b(servers, float(load)) == pytest.approx(exact, rel=1e-12)


PYWORKFORCE_GRID = [
    # contacts per interval, interval minutes, AHT seconds, within seconds, target
    (100, 30, 180, 20, 0.8),
    (40, 15, 300, 30, 0.9),
    (1200, 60, 240, 20, 0.8),
    (350, 30, 420, 60, 0.95),
    (5000, 30, 200, 15, 0.7),
    (90_000, 60, 180, 20, 0.8),
]


@pytest.mark.parametrize(("contacts", "minutes", "aht", "within", "target"), PYWORKFORCE_GRID)
def test_erlang_c_agrees_with_pyworkforce(
    contacts: int, minutes: int, aht: float, within: float, target: float
) -> None:
    reference = ErlangC(transactions=contacts, aht=aht / 60, asa=within / 60, interval=minutes)
    rate = contacts / (minutes * 60)
    sized = required_servers(rate, aht, target=target, within_seconds=within)
    assert sized.servers == reference.required_positions(service_level=target)["raw_positions"]
    for servers in (sized.servers - 1, sized.servers, sized.servers + 3):
        figures = performance(rate, aht, servers, within)
        assert figures.service_level == pytest.approx(reference.service_level(servers), abs=1e-9)
        assert figures.wait_probability == pytest.approx(
            reference.waiting_probability(servers), abs=1e-9
        )


def test_occupancy_cap_agrees_with_pyworkforce() -> None:
    reference = ErlangC(transactions=1000, aht=4, asa=1 / 3, interval=30)
    expected = reference.required_positions(service_level=0.8, max_occupancy=0.85)
    sized = required_servers(1000 / 1800, 240, target=0.8, within_seconds=20, max_occupancy=0.85)
    assert sized.servers == expected["raw_positions"]
    assert sized.occupancy <= 0.85


@pytest.mark.parametrize("servers", [11, 14, 20])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(servers: int) -> None:
    erlang_c = performance(CLASSIC_RATE, 180, servers, 20)
    gaps = []
    for patience in (600.0, 6e3, 6e4, 6e5, 6e6):
        erlang_a = performance(CLASSIC_RATE, 180, servers, 20, patience)
        gaps.append(abs(erlang_a.service_level - erlang_c.service_level))
        # Abandonment is Erlang A's mean wait over patience, and waits only shrink with it.
        assert erlang_a.abandonment <= erlang_c.asa_seconds / patience
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-4


def _poisson_log_pmf(k: int, mean: float) -> float:
    return k * math.log(mean) - mean - math.lgamma(k + 1)


@pytest.mark.parametrize(("servers", "load"), [(5, 4.0), (12, 15.0), (10_000, 9_900.0)])
def test_erlang_a_with_patience_equal_to_handle_time(servers: int, load: float) -> None:
    """When patience equals the handle time, everybody leaves at the same rate whether served or
    waiting, so the number present is Poisson(load) as in M/M/infinity: P(wait) = P(N >= n) and
    P(abandon) = E[(N - n)+] / load."""
    aht = 200.0
    figures = performance(load / aht, aht, servers, 10, patience_seconds=aht)
    upper = servers + 40 * int(math.sqrt(load)) + 100
    tail = [(k, math.exp(_poisson_log_pmf(k, load))) for k in range(servers, upper)]
    assert figures.wait_probability == pytest.approx(sum(p for _, p in tail), rel=1e-9)
    expected_abandonment = sum((k - servers) * p for k, p in tail) / load
    assert figures.abandonment == pytest.approx(expected_abandonment, rel=1e-7)
    assert figures.asa_seconds == pytest.approx(expected_abandonment * aht, rel=1e-7)


def _simulate_erlang_a(
    rate: float, aht: float, servers: int, within: float, patience: float, arrivals: int, seed: int
) -> tuple[float, float]:
    """M/M/n+M, first come first served: (share answered within `within`, share abandoned).

    An arrival is answered when the earliest server frees up, unless its patience runs out first;
    contacts that abandon never take a server, so tracking server free times is enough.
    """
    rng = random.Random(seed)
    server_free_at = [0.0] * servers
    now = 0.0
    answered_in_time = abandoned = 0
    for _ in range(arrivals):
        now += rng.expovariate(rate)
        tolerance = rng.expovariate(1 / patience)
        wait = max(0.0, server_free_at[0] - now)
        if wait >= tolerance:
            abandoned += 1
            continue
        heapq.heapreplace(server_free_at, now + wait + rng.expovariate(1 / aht))
        answered_in_time += wait <= within
    return answered_in_time / arrivals, abandoned / arrivals


@pytest.mark.parametrize(
    ("load", "servers", "within", "patience"),
    [(8.5, 8, 20, 90), (6.0, 8, 20, 200), (50.0, 45, 10, 30)],
)
def test_erlang_a_matches_simulation(
    load: float, servers: int, within: float, patience: float
) -> None:
    aht = 120.0
    service_level, abandonment = _simulate_erlang_a(
        load / aht, aht, servers, within, patience, arrivals=200_000, seed=7
    )
    figures = performance(load / aht, aht, servers, within, patience)
    assert figures.service_level == pytest.approx(service_level, abs=0.012)
    assert figures.abandonment == pytest.approx(abandonment, abs=0.006)


def test_erlang_a_sizing_respects_the_abandonment_cap() -> None:
    rate, aht, patience = 30 / 60, 240.0, 90.0
    sized = required_servers(
        rate, aht, target=0.8, within_seconds=20, patience_seconds=patience, max_abandon=0.01
    )
    assert sized.abandonment <= 0.01
    assert sized.service_level >= 0.8
    fewer = performance(rate, aht, sized.servers - 1, 20, patience)
    assert fewer.abandonment > 0.01 or fewer.service_level < 0.8


@pytest.mark.parametrize("patience", [None, 30.0, 600.0])
def test_ten_thousand_servers_stay_finite(patience: float | None) -> None:
    for load in (9_000.0, 9_950.0, 10_000.0, 12_000.0):
        figures = performance(load / 180, 180, 10_000, 20, patience)
        values = (
            figures.service_level,
            figures.wait_probability,
            figures.abandonment,
            figures.occupancy,
        )
        assert all(0.0 <= value <= 1.0 for value in values), figures
        assert not math.isnan(figures.asa_seconds)
    sized = required_servers(
        9_900 / 180, 180, target=0.9, within_seconds=20, patience_seconds=patience
    )
    assert sized.servers < 10_200
    assert sized.service_level >= 0.9


def test_ten_thousand_servers_agree_with_pyworkforce() -> None:
    reference = ErlangC(transactions=9_900 * 10, aht=3, asa=1 / 3, interval=30)
    figures = performance(9_900 / 180, 180, 10_000, 20)
    assert figures.wait_probability == pytest.approx(
        reference.waiting_probability(10_000), rel=1e-9
    )
    assert figures.service_level == pytest.approx(reference.service_level(10_000), rel=1e-12)


def test_zero_arrivals_need_zero_servers() -> None:
    sized = required_servers(0.0, 180, target=0.8, within_seconds=20, patience_seconds=60)
    assert (sized.servers, sized.service_level, sized.occupancy) == (0, 1.0, 0.0)


def test_no_servers_answer_nobody() -> None:
    assert performance(0.1, 180, 0, 20).service_level == 0.0
    impatient = performance(0.1, 180, 0, 20, patience_seconds=45)
    assert (impatient.abandonment, impatient.asa_seconds) == (1.0, 45)


def test_unreachable_target_is_reported() -> None:
    with pytest.raises(InfeasibleTarget, match="no staffing up to 50 servers"):
        required_servers(1.0, 180, target=0.8, within_seconds=20, max_servers=50)
    with pytest.raises(InfeasibleTarget):
        required_servers(
            1.0, 180, target=0.8, within_seconds=20, patience_seconds=60, max_servers=50
        )


@pytest.mark.parametrize(
    "arguments",
    [
        {"arrival_rate": -1.0},
        {"arrival_rate": math.nan},
        {"aht_seconds": 0.0},
        {"target": 0.0},
        {"target": 1.2},
        {"max_occupancy": 0.0},
        {"patience_seconds": -5.0},
        {"max_abandon": 1.5},
        {"within_seconds": -1.0},
    ],
)
def test_invalid_input_is_rejected(arguments: dict[str, float]) -> None:
    defaults: dict[str, float] = {
        "arrival_rate": 1.0,
        "aht_seconds": 180.0,
        "target": 0.8,
        "within_seconds": 20.0,
    }
    with pytest.raises(ValueError):
        required_servers(**(defaults | arguments))  # type: ignore[arg-type]


rates = st.floats(min_value=0.001, max_value=20.0)
handle_times = st.floats(min_value=10.0, max_value=900.0)
patiences = st.one_of(st.none(), st.floats(min_value=5.0, max_value=3_600.0))


@settings(max_examples=60, deadline=None)
@given(
    rate=rates,
    aht=handle_times,
    within=st.floats(min_value=0.0, max_value=120.0),
    patience=patiences,
)
def test_more_servers_never_hurt(
    rate: float, aht: float, within: float, patience: float | None
) -> None:
    load = rate * aht
    low = max(1, math.floor(load * 0.8))
    before = performance(rate, aht, low, within, patience)
    for servers in range(low + 1, low + 6):
        after = performance(rate, aht, servers, within, patience)
        assert after.service_level >= before.service_level - 1e-9
        assert after.wait_probability <= before.wait_probability + 1e-9
        assert after.abandonment <= before.abandonment + 1e-9
        assert after.occupancy <= before.occupancy + 1e-9
        before = after


@settings(max_examples=60, deadline=None)
@given(
    rate=rates,
    aht=handle_times,
    target=st.floats(min_value=0.05, max_value=0.99),
    patience=patiences,
    cap=st.one_of(st.none(), st.floats(min_value=0.01, max_value=0.3)),
)
def test_required_servers_is_the_smallest_that_meets_every_target(
    rate: float, aht: float, target: float, patience: float | None, cap: float | None
) -> None:
    sized = required_servers(
        rate,
        aht,
        target=target,
        within_seconds=20,
        max_occupancy=0.95,
        patience_seconds=patience,
        max_abandon=cap,
    )
    assert sized.service_level >= target - 1e-9
    assert sized.occupancy <= 0.95 + 1e-9
    assert cap is None or sized.abandonment <= cap + 1e-9
    fewer = performance(rate, aht, sized.servers - 1, 20, patience)
    assert (
        fewer.service_level < target
        or fewer.occupancy > 0.95
        or (cap is not None and fewer.abandonment > cap)
    )
