"""The traffic and contact flags `switchboard simulate` and `switchboard loadgen` share: the same
arrivals and the same people, offline in the twin or live against the real services."""

from __future__ import annotations

import argparse
from pathlib import Path

from switchboard.commandline import (
    UsageError,
    positive_number,
    positive_or_infinite,
)
from switchboard.simulator.traffic import PROFILES, Trace, parse_trace


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    """--profile or --trace, --peak-rate, --scale."""
    traffic = parser.add_argument_group("traffic")
    source = traffic.add_mutually_exclusive_group()
    source.add_argument(
        "--profile",
        choices=PROFILES,
        default="business-day",
        help="built-in intraday profile (default: %(default)s)",
    )
    source.add_argument(
        "--trace",
        type=Path,
        metavar="FILE.csv",
        help="arrival counts per interval, header start,arrivals; earlier dates "
        "in the file are the forecast's history",
    )
    traffic.add_argument(
        "--peak-rate",
        type=positive_number,
        default=0.5,
        metavar="PER_SECOND",
        help="contacts per second in the busiest slot of a normal day (default: 0.5)",
    )
    traffic.add_argument(
        "--scale",
        type=positive_number,
        default=1.0,
        help="multiply all arrivals by this factor (default: 1)",
    )


def add_contact_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """--aht, --aht-cv, --patience; returns the group, for a command's own contact flags."""
    behaviour = parser.add_argument_group("contacts")
    behaviour.add_argument(
        "--aht",
        type=positive_number,
        default=300.0,
        metavar="SECONDS",
        help="mean agent handle time (default: 300)",
    )
    behaviour.add_argument(
        "--aht-cv",
        type=positive_number,
        default=1.0,
        metavar="CV",
        help="handle time coefficient of variation, log-normal (default: 1)",
    )
    behaviour.add_argument(
        "--patience",
        type=positive_or_infinite,
        default=180.0,
        metavar="SECONDS",
        help="mean patience before abandoning, exponential; inf: nobody abandons (default: 180)",
    )
    return behaviour


def read_trace(path: Path, scale: float) -> Trace:
    """The trace file of --trace; a file that cannot be read or parsed is a usage error."""
    try:
        with path.open(newline="") as lines:
            return parse_trace(lines, scale=scale)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"{path}: {error}") from None
