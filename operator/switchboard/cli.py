"""`switchboard` command line: the entry point and its subcommands, each in its package's
`command.py`.

A subcommand module exposes `register(subparsers)`, which adds its parser and sets `handler` to a
function taking the parsed arguments and returning an exit code. Usage errors, found by argparse
or raised by a handler as `UsageError`, are one line on stderr, exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from switchboard.commandline import OneLineParser, ParseError, SubParsers, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="switchboard",
        description="Deploy, size and safely upgrade contact centers on Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrations():
        register(subparsers)
    return parser


def _registrations() -> list[Callable[[SubParsers], None]]:
    # Imported here so `switchboard --help` does not pay for every concern's imports.
    from switchboard.api import command as crd
    from switchboard.controllers import command as run
    from switchboard.dataplane.agents import command as agents
    from switchboard.dataplane.bot import command as bot
    from switchboard.dataplane.gateway import command as gateway
    from switchboard.dataplane.loadgen import command as loadgen
    from switchboard.dataplane.retention import command as retention
    from switchboard.resources import command as render
    from switchboard.simulator import command as simulate
    from switchboard.sizing import command as sizing

    return [
        run.register,
        crd.register,
        render.register,
        simulate.register,
        sizing.register,
        agents.register,
        bot.register,
        gateway.register,
        loadgen.register,
        retention.register,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except ParseError as error:
        return _usage_error(error.prog, error)
    try:
        code: int = args.handler(args)
    except UsageError as error:
        return _usage_error(f"switchboard {args.command}", error)
    return code


def _usage_error(prog: str, error: UsageError) -> int:
    print(f"{prog}: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
