"""`switchboard loadgen`: customers (webchat and api) and agents (the workspace's API) played
against a running data plane, on the arrivals `switchboard simulate` takes; a progress line
while it runs, a summary at the end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import random
import signal
import sys
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from switchboard.commandline import (
    Bounded,
    SubParsers,
    UsageError,
    fraction_or_zero,
    non_negative_integer,
    non_negative_number,
    positive_integer,
    positive_number,
)
from switchboard.simulator.arguments import (
    add_contact_arguments,
    add_traffic_arguments,
    read_trace,
)
from switchboard.simulator.traffic import HOUR, ArrivalProfile, builtin_profile

if TYPE_CHECKING:
    from switchboard.dataplane.loadgen.run import LoadRun


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "loadgen",
        help="play customers and agents against a running data plane",
        description=(
            "Play customers (webchat and api) and agents (through the workspace's API) against "
            "a running contact center: arrivals from a profile or a trace as `switchboard "
            "simulate` takes them, customers saying what a corpus's customers say, thinking, "
            "losing patience, reconnecting and resending; agents accepting, replying and "
            "resolving after a handle time. Prints a progress line every few seconds and a "
            "summary; the exit code is 1 if an acknowledged message was lost or a message "
            "was shown twice (docs/dataplane.md, 'The load generator')."
        ),
    )
    targets = parser.add_argument_group("where")
    targets.add_argument("--webchat", metavar="URL", help="a webchat gateway (http://HOST:PORT)")
    targets.add_argument("--api", metavar="URL", help="an api gateway (http://HOST:PORT)")
    targets.add_argument(
        "--api-token-file", type=Path, metavar="FILE", help="the api channel's bearer token"
    )
    targets.add_argument(
        "--api-share",
        type=fraction_or_zero,
        default=0.5,
        metavar="SHARE",
        help="share of customers on the api channel when both are given (default: 0.5)",
    )
    targets.add_argument("--agents-url", metavar="URL", help="the agent workspace (http://...)")
    targets.add_argument(
        "--agents-token-file", type=Path, metavar="FILE", help="the workspace's token"
    )
    add_traffic_arguments(parser)
    when = parser.add_argument_group("time")
    when.add_argument(
        "--start",
        type=time_of_day,
        metavar="HH:MM",
        help="time of day of the profile to start at (default: its start)",
    )
    when.add_argument(
        "--speed",
        type=positive_number,
        default=1.0,
        help="the profile's seconds per wall-clock second: arrivals come this many times "
        "faster; people still take their time in real seconds (default: 1)",
    )
    when.add_argument(
        "--duration",
        type=positive_number,
        metavar="SECONDS",
        help="wall-clock seconds of arrivals (default: until the profile ends)",
    )
    when.add_argument(
        "--drain",
        type=non_negative_number,
        default=30.0,
        metavar="SECONDS",
        help="after the arrivals, how long customers still there may finish (default: 30)",
    )
    people = add_contact_arguments(parser)
    people.add_argument(
        "--think",
        type=positive_number,
        default=5.0,
        metavar="SECONDS",
        help="a customer's mean time to write the next message, exponential (default: 5)",
    )
    people.add_argument(
        "--corpus",
        type=Path,
        required=True,
        metavar="FILE",
        help="what customers say: an utterance corpus (examples/models/telco-corpus.yaml)",
    )
    people.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a dialogue model the bot serves, so customers can tell whether a reply answers "
        "them (repeatable; without one, every answer helps)",
    )
    people.add_argument(
        "--within",
        type=non_negative_number,
        default=20.0,
        metavar="SECONDS",
        help="the service level's answer time, per tier (default: 20)",
    )
    staff = parser.add_argument_group("agents")
    staff.add_argument(
        "--agents", type=non_negative_integer, default=0, help="agents to play (default: 0)"
    )
    staff.add_argument(
        "--agent-capacity",
        type=positive_integer,
        default=1,
        metavar="N",
        help="conversations of each channel type an agent takes at once (default: 1)",
    )
    staff.add_argument(
        "--agent-reply",
        type=positive_number,
        default=5.0,
        metavar="SECONDS",
        help="an agent's mean time to answer a message, exponential (default: 5)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--progress",
        type=non_negative_number,
        default=5.0,
        metavar="SECONDS",
        help="a progress line on stderr this often; 0: none (default: 5)",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write the summary as JSON")
    parser.add_argument(
        "--conversations",
        type=Path,
        metavar="FILE",
        help="write each conversation's acknowledged and shown messages (seq, id) as a JSON "
        "line, to check against the store",
    )
    parser.set_defaults(handler=run)


def _seconds_of_day(text: str) -> float:
    try:
        moment = time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a time of day (HH:MM), got {text!r}") from None
    return moment.hour * HOUR + moment.minute * 60.0 + moment.second


time_of_day = Bounded(_seconds_of_day, lambda _: True, "a time of day")


def _token(path: Path | None, flag: str, needed_for: str) -> str:
    if path is None:
        raise UsageError(f"{needed_for} needs {flag}")
    try:
        token = path.read_text().strip()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if not token:
        raise UsageError(f"{path} is empty: {flag} holds a token")
    return token


def _profile(args: argparse.Namespace) -> ArrivalProfile:
    if args.trace is not None:
        return read_trace(args.trace, args.scale).day
    return builtin_profile(args.profile, args.peak_rate * args.scale)


def run(args: argparse.Namespace) -> int:
    # Imported here: the data plane's dependencies are an extra the operator alone lacks.
    from switchboard.dataplane.bot.corpus import parse_corpus
    from switchboard.dataplane.bot.model import ModelError, parse_model
    from switchboard.dataplane.loadgen.answers import Answers
    from switchboard.dataplane.loadgen.plan import People, arrival_offsets, run_seconds
    from switchboard.dataplane.loadgen.run import Endpoints, LoadRun, Plan, websocket_url
    from switchboard.dataplane.loadgen.tally import summary_table
    from switchboard.simulator.contacts import Exponential, LogNormal

    if args.webchat is None and args.api is None:
        raise UsageError("give the gateways to play customers against: --webchat, --api or both")
    endpoints = Endpoints(
        webchat=websocket_url(args.webchat) if args.webchat else None,
        api=args.api,
        api_token=_token(args.api_token_file, "--api-token-file", "--api") if args.api else None,
        agents=args.agents_url,
        agents_token=(
            _token(args.agents_token_file, "--agents-token-file", "--agents")
            if args.agents
            else None
        ),
    )
    if args.agents and args.agents_url is None:
        raise UsageError("--agents needs --agents-url: where the agent workspace listens")
    try:
        corpus = parse_corpus(args.corpus.read_text(), str(args.corpus))
        models = [parse_model(path.read_text(), str(path)) for path in args.model]
    except OSError as error:
        raise UsageError(f"cannot read {error.filename}: {error.strerror}") from None
    except ModelError as error:
        raise UsageError(str(error)) from None
    profile = _profile(args)
    start = profile.start if args.start is None else args.start
    if not profile.start <= start < profile.end:
        raise UsageError(
            f"--start is outside the profile, which runs from {_clock(profile.start)} "
            f"to {_clock(profile.end)}"
        )
    duration = args.duration or run_seconds(profile, start=start, speed=args.speed)
    rng = random.Random(f"{args.seed}/arrivals")
    plan = Plan(
        arrivals=arrival_offsets(profile, rng, start=start, speed=args.speed, duration=duration),
        duration=duration,
        people=People(
            patience=None if math.isinf(args.patience) else Exponential(args.patience),
            think=Exponential(args.think),
            handle_time=LogNormal(args.aht, args.aht_cv),
            agent_reply=Exponential(args.agent_reply),
        ),
        corpus=corpus,
        answers=Answers(models),
        api_share=args.api_share,
        agents=args.agents,
        agent_capacity=args.agent_capacity,
        within_seconds=args.within,
        seed=args.seed,
        progress_seconds=args.progress,
        drain_seconds=args.drain,
    )
    say = functools.partial(print, file=sys.stderr, flush=True)
    with contextlib.ExitStack() as stack:
        record = None
        if args.conversations is not None:
            try:
                lines = stack.enter_context(args.conversations.open("w"))
            except OSError as error:
                raise UsageError(f"cannot write {args.conversations}: {error.strerror}") from None
            record = functools.partial(_write_line, lines)
        report = asyncio.run(_run(LoadRun(plan, endpoints, say=say, record=record)))
    print(summary_table(report))
    if args.report is not None:
        try:
            args.report.write_text(json.dumps(report, indent=2) + "\n")
        except OSError as error:
            raise UsageError(f"cannot write {args.report}: {error.strerror}") from None
    return 1 if report["lost_messages"] or report["duplicated_messages"] else 0


async def _run(load: LoadRun) -> dict[str, Any]:
    """The run, ended early (its arrivals; the drain follows) by SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, load.interrupted.set)
    return await load.run()


def _write_line(lines: TextIO, document: dict[str, Any]) -> None:
    lines.write(json.dumps(document) + "\n")


def _clock(seconds: float) -> str:
    return f"{int(seconds // HOUR):02d}:{int(seconds % HOUR // 60):02d}"
