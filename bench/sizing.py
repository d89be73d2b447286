"""Sizing speed: switchboard's Erlang C staffing against pyworkforce's, side by side in one run.

The headline case is the issue's: one interval at an offered load of 5,000 Erlangs (AHT 180 s,
target 80% answered within 20 s). Both libraries size the same input, their answers are checked
to agree, and the two are timed alternately (so that a busy machine slows both alike); each time
is the median over repeats of the mean of a batch of calls. A grid of smaller and larger loads,
and Erlang A at the headline load, are printed for context.

    .venv/bin/python -m bench.sizing [--quick]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence

from pyworkforce.queuing import ErlangC

from switchboard.sizing.erlang import required_servers

AHT_SECONDS = 180.0
TARGET = 0.8
WITHIN_SECONDS = 20.0
HEADLINE_LOAD = 5_000.0
GRID_LOADS = (10.0, 100.0, 1_000.0, 5_000.0, 10_000.0)
INTERVAL_MINUTES = 30
PATIENCE_SECONDS = 120.0


def switchboard_servers(load: float) -> int:
    return required_servers(
        load / AHT_SECONDS, AHT_SECONDS, target=TARGET, within_seconds=WITHIN_SECONDS
    ).servers


def pyworkforce_servers(load: float) -> int:
    contacts = load / AHT_SECONDS * INTERVAL_MINUTES * 60
    erlang = ErlangC(
        transactions=contacts,
        aht=AHT_SECONDS / 60,
        asa=WITHIN_SECONDS / 60,
        interval=INTERVAL_MINUTES,
    )
    return int(erlang.required_positions(service_level=TARGET)["raw_positions"])


def erlang_a_servers(load: float) -> int:
    return required_servers(
        load / AHT_SECONDS,
        AHT_SECONDS,
        target=TARGET,
        within_seconds=WITHIN_SECONDS,
        patience_seconds=PATIENCE_SECONDS,
    ).servers


def batch_ms(size: Callable[[float], int], load: float, calls: int) -> float:
    """Mean wall time of one call over a batch, in milliseconds."""
    started = time.perf_counter()
    for _ in range(calls):
        size(load)
    return (time.perf_counter() - started) / calls * 1000


def side_by_side(load: float, repeats: int, calls: int) -> tuple[float, float]:
    """Median milliseconds per call of switchboard and pyworkforce, batches alternating."""
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(batch_ms(switchboard_servers, load, calls))
        theirs.append(batch_ms(pyworkforce_servers, load, calls))
    return statistics.median(ours), statistics.median(theirs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats, calls = (3, 3) if args.quick else (9, 10)
    print(
        f"Erlang C staffing for {TARGET:.0%} within {WITHIN_SECONDS:g} s, AHT {AHT_SECONDS:g} s; "
        f"median of {repeats} batches of {calls} calls, alternating"
    )
    print(f"{'load (Erlangs)':>15} {'servers':>8} {'switchboard ms':>15} {'pyworkforce ms':>15}")
    for load in GRID_LOADS:
        servers = switchboard_servers(load)
        if servers != pyworkforce_servers(load):
            raise SystemExit(f"the libraries disagree at {load:g} Erlangs")
        ours, theirs = side_by_side(load, repeats, calls)
        print(f"{load:>15g} {servers:>8} {ours:>15.3f} {theirs:>15.3f}")
    ours, theirs = side_by_side(HEADLINE_LOAD, repeats, calls)
    erlang_a_ms = statistics.median(
        batch_ms(erlang_a_servers, HEADLINE_LOAD, calls) for _ in range(repeats)
    )
    print(
        f"headline, {HEADLINE_LOAD:g} Erlangs: switchboard {ours:.3f} ms, pyworkforce "
        f"{theirs:.3f} ms, {theirs / ours:.0f}x faster"
    )
    print(
        f"Erlang A at {HEADLINE_LOAD:g} Erlangs, patience {PATIENCE_SECONDS:g} s: "
        f"{erlang_a_servers(HEADLINE_LOAD)} servers in {erlang_a_ms:.3f} ms"
    )
    print(
        json.dumps(
            {
                "load_erlangs": HEADLINE_LOAD,
                "servers": switchboard_servers(HEADLINE_LOAD),
                "switchboard_ms": round(ours, 4),
                "pyworkforce_ms": round(theirs, 4),
                "speedup": round(theirs / ours, 1),
                "erlang_a_ms": round(erlang_a_ms, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
