"""`switchboard sizing`: a capacity planner for people, on the operator's own Erlang engine.

One interval (`--arrivals`, `--aht`): the servers needed for the target, or with `--servers` the
figures of that staffing. A plan (`--forecast FILE.csv`, header `start,arrivals,aht`, one row per
interval): the same for every row.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from switchboard.commandline import (
    SubParsers,
    UsageError,
    fraction,
    fraction_or_zero,
    non_negative_integer,
    positive_number,
    positive_or_infinite,
    service_target_arguments,
)
from switchboard.sizing.erlang import Performance, performance, required_servers

FORECAST_COLUMNS = ("start", "arrivals", "aht")


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "sizing",
        help="servers needed for a service level (Erlang C, or Erlang A with --patience)",
        description=(
            "Size an interval, or a plan of intervals, for a service level: the smallest number "
            "of servers (agents, or bot conversation slots) that answers --target of all offered "
            "contacts within --within seconds, within the occupancy and abandonment caps. "
            "Erlang C; Erlang A (callers abandon) with --patience."
        ),
    )
    demand = parser.add_argument_group("demand")
    demand.add_argument("--arrivals", type=float, metavar="N", help="contacts per interval")
    demand.add_argument(
        "--interval",
        type=positive_number,
        default=1800.0,
        metavar="SECONDS",
        help="interval length (default: %(default)g)",
    )
    demand.add_argument("--aht", type=float, metavar="SECONDS", help="mean handle time")
    demand.add_argument(
        "--patience",
        type=positive_or_infinite,
        metavar="SECONDS",
        help="mean time callers wait before abandoning (Erlang A); without it nobody abandons",
    )
    demand.add_argument(
        "--forecast",
        type=Path,
        metavar="FILE.csv",
        help="a plan: header start,arrivals,aht and one row per interval of --interval seconds",
    )
    targets = service_target_arguments(parser)
    targets.add_argument(
        "--max-occupancy",
        type=fraction,
        default=1.0,
        metavar="F",
        help="highest share of time a server may be busy (default: %(default)g)",
    )
    targets.add_argument(
        "--max-abandon",
        type=fraction_or_zero,
        metavar="F",
        help="highest share of contacts that may abandon (needs --patience to matter)",
    )
    parser.add_argument(
        "--servers",
        type=non_negative_integer,
        metavar="N",
        help="evaluate this staffing instead of sizing",
    )
    parser.add_argument(
        "--output",
        choices=("table", "json"),
        default="table",
        help="json: one object, or with --forecast a list of objects with their start",
    )
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Interval:
    start: str | None
    arrivals: float
    aht_seconds: float


def run(args: argparse.Namespace) -> int:
    intervals = list(_intervals(args))
    try:
        plan = [(interval, _figures(interval, args)) for interval in intervals]
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.output == "json":
        rows = [_as_json(figures, interval.start) for interval, figures in plan]
        print(json.dumps(rows if args.forecast else rows[0]))
    else:
        print(_table(plan, args))
    return 0


def _intervals(args: argparse.Namespace) -> Iterator[Interval]:
    if args.forecast is None:
        if args.arrivals is None or args.aht is None:
            raise UsageError("give --arrivals and --aht, or a --forecast file")
        yield Interval(None, args.arrivals, args.aht)
        return
    if args.arrivals is not None or args.aht is not None:
        raise UsageError("--forecast takes arrivals and AHT from the file: drop --arrivals, --aht")
    yield from _read_forecast(args.forecast)


def _read_forecast(path: Path) -> list[Interval]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    reader = csv.DictReader(text.splitlines())
    if not set(FORECAST_COLUMNS) <= set(reader.fieldnames or ()):
        raise UsageError(f"{path}: the header must name {','.join(FORECAST_COLUMNS)}")
    intervals = []
    for row in reader:
        line = f"{path} line {reader.line_num}"
        if None in row.values() or not row["start"]:
            raise UsageError(f"{line}: expected start,arrivals,aht")
        intervals.append(
            Interval(row["start"], _number(row["arrivals"], line), _number(row["aht"], line))
        )
    if not intervals:
        raise UsageError(f"{path}: no intervals after the header")
    return intervals


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a number") from None


def _figures(interval: Interval, args: argparse.Namespace) -> Performance:
    where = f"interval {interval.start}: " if interval.start is not None else ""
    if not interval.arrivals >= 0:
        raise ValueError(f"{where}arrivals must be a number >= 0, got {interval.arrivals:g}")
    arrival_rate = interval.arrivals / args.interval
    try:
        if args.servers is not None:
            return performance(
                arrival_rate, interval.aht_seconds, args.servers, args.within, args.patience
            )
        return required_servers(
            arrival_rate,
            interval.aht_seconds,
            target=args.target,
            within_seconds=args.within,
            max_occupancy=args.max_occupancy,
            patience_seconds=args.patience,
            max_abandon=args.max_abandon,
        )
    except ValueError as error:
        raise ValueError(f"{where}{error}") from None


def _as_json(figures: Performance, start: str | None) -> dict[str, object]:
    # An unstable queue waits forever; JSON has no infinity, so it says null.
    values = {
        key: None if isinstance(value, float) and math.isinf(value) else value
        for key, value in asdict(figures).items()
    }
    return values if start is None else {"start": start, **values}


def _table(plan: list[tuple[Interval, Performance]], args: argparse.Namespace) -> str:
    heading = (
        f"{'start':<20} {'arrivals':>9} {'AHT s':>7} {'servers':>8} {'SL':>7} "
        f"{'P(wait)':>8} {'ASA s':>8} {'abandon':>8} {'occupancy':>9}"
    )
    erlang_c = args.patience is None or math.isinf(args.patience)
    model = "Erlang C" if erlang_c else f"Erlang A, patience {args.patience:g} s"
    lines = [
        f"target {args.target:.0%} answered within {args.within:g} s, {model}, "
        f"intervals of {args.interval:g} s",
        heading,
    ]
    for interval, figures in plan:
        lines.append(
            f"{interval.start or '-':<20} {interval.arrivals:>9g} {interval.aht_seconds:>7g} "
            f"{figures.servers:>8} {figures.service_level:>7.3f} "
            f"{figures.wait_probability:>8.3f} {figures.asa_seconds:>8.1f} "
            f"{figures.abandonment:>8.3f} {figures.occupancy:>9.3f}"
        )
    return "\n".join(lines)
