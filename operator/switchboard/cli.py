"""`switchboard` command line: one sub-command per concern, each defined next to its code.

A sub-command module exposes `register(subparsers)`, which adds its parser and sets
`handler` to a function taking the parsed arguments and returning an exit code.
Usage errors raise `UsageError`: one line on stderr, exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeAlias

# A string: argparse._SubParsersAction is generic only to type checkers, not at runtime.
SubParsers: TypeAlias = "argparse._SubParsersAction[Any]"
Register: TypeAlias = Callable[[SubParsers], None]


class UsageError(Exception):
    """Bad input from the command line; printed as one line, exit code 2."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints its usage over several lines before an error; say it in one."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="switchboard",
        description="Deploy, size and safely upgrade contact centers on Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrations():
        register(subparsers)
    return parser


def _registrations() -> list[Register]:
    # Imported here so `switchboard --help` does not pay for every concern's imports.
    from switchboard.api import command as crd
    from switchboard.controllers import command as run
    from switchboard.resources import command as render
    from switchboard.simulator import command as simulate
    from switchboard.sizing import command as sizing

    return [run.register, crd.register, render.register, simulate.register, sizing.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as error:
        print(f"switchboard {args.command}: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
