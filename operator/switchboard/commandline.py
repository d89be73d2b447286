"""What every `switchboard` subcommand shares: the usage error, the one-line parser, value types,
and the flags of a service target.

A leaf module: it imports nothing from switchboard, so each subcommand's `command.py` can use it
while `cli.py` imports the subcommands.

The value types check one flag's value as argparse converts it; a bad value becomes one line
that names the flag and what it needs ("--interval must be > 0, got 0") and exit code 2. Checks
across flags stay in the commands, which raise `UsageError`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeAlias, TypeVar

# A string: argparse._SubParsersAction is generic only to type checkers, not at runtime.
SubParsers: TypeAlias = "argparse._SubParsersAction[Any]"

Number = TypeVar("Number", int, float)


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

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        # argparse would word it "argument --x: must be ..."; say "--x must be ...", as the
        # commands' own checks do.
        if not isinstance(action.type, Bounded):
            return super()._get_value(action, arg_string)
        try:
            return action.type(arg_string)
        except argparse.ArgumentTypeError as error:
            flag = "/".join(action.option_strings) or action.dest
            raise argparse.ArgumentError(None, f"{flag} {error}") from None


@dataclass(frozen=True)
class Bounded(Generic[Number]):
    """An argparse type: the value `parse` reads from the text (or raises ArgumentTypeError),
    if `accepts` it; else an error saying it must be `needs`."""

    parse: Callable[[str], Number]
    accepts: Callable[[Number], bool]
    needs: str

    def __call__(self, text: str) -> Number:
        value = self.parse(text)
        if not self.accepts(value):
            raise argparse.ArgumentTypeError(f"must be {self.needs}, got {text}")
        return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be a number, got {text}")
    return value


def _finite_number(text: str) -> float:
    value = _number(text)
    if math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


positive_number = Bounded(_finite_number, lambda value: value > 0, "> 0")
# A patience: inf means nobody abandons.
positive_or_infinite = Bounded(_number, lambda value: value > 0, "> 0 or inf")
non_negative_number = Bounded(_finite_number, lambda value: value >= 0, ">= 0")
positive_integer = Bounded(_integer, lambda value: value >= 1, ">= 1")
non_negative_integer = Bounded(_integer, lambda value: value >= 0, ">= 0")
# Shares: a service-level target or a utilisation (above 0), a share that may be 0, a quantile.
fraction = Bounded(_finite_number, lambda value: 0 < value <= 1, "in (0, 1]")
fraction_or_zero = Bounded(_finite_number, lambda value: 0 <= value <= 1, "in [0, 1]")
quantile = Bounded(_finite_number, lambda value: 0 < value < 1, "in (0, 1)")
port = Bounded(_integer, lambda value: 1 <= value <= 65535, "a port number in 1..65535")
# A server that reports the port it got can take 0: any free port.
port_or_any = Bounded(
    _integer, lambda value: 0 <= value <= 65535, "a port number in 0..65535 (0: any free port)"
)


def service_target_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The "service target" group, with `--target` of contacts answered within `--within`
    seconds (80/20 unless given, as in the API); a command adds its own caps to it."""
    group = parser.add_argument_group("service target")
    group.add_argument(
        "--target",
        type=fraction,
        default=0.8,
        help="share of contacts answered within --within (default: %(default)g)",
    )
    group.add_argument(
        "--within",
        type=non_negative_number,
        default=20.0,
        metavar="SECONDS",
        help="answer within (default: %(default)g)",
    )
    return group
