"""What every `switchboard` subcommand shares: the usage error and the one-line parser.

A leaf module: it imports nothing from switchboard, so each subcommand's `command.py` can use it
while `cli.py` imports the subcommands.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn, TypeAlias

# A string: argparse._SubParsersAction is generic only to type checkers, not at runtime.
SubParsers: TypeAlias = "argparse._SubParsersAction[Any]"


class UsageError(Exception):
    """Bad input from the command line; printed as one line, exit code 2."""


class ParseError(UsageError):
    """A usage error argparse found, reported by the parser of `prog` with where its help is."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{message} (see {prog} --help)")
        self.prog = prog


class OneLineParser(argparse.ArgumentParser):
    """argparse prints its usage over several lines before an error, then exits; raise instead,
    so the entry point says it in one line."""

    def error(self, message: str) -> NoReturn:
        raise ParseError(self.prog, message)
