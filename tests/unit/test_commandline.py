"""The value types: which values each accepts, and the one line a rejected one becomes."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import pytest

from switchboard.api.sla import ServiceLevel
from switchboard.commandline import (
    OneLineParser,
    ParseError,
    fraction,
    fraction_or_zero,
    non_negative_integer,
    non_negative_number,
    port,
    port_or_any,
    positive_integer,
    positive_number,
    positive_or_infinite,
    quantile,
    service_target_arguments,
)

Type = Callable[[str], float]


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (positive_number, "0.001", 0.001),
        (positive_number, "1e3", 1000.0),
        (non_negative_number, "0", 0.0),
        (non_negative_number, "-0", 0.0),
        (positive_or_infinite, "1800", 1800.0),
        (positive_or_infinite, "inf", math.inf),
        (positive_integer, "1", 1),
        (non_negative_integer, "0", 0),
        (fraction, "1", 1.0),
        (fraction, "0.8", 0.8),
        (fraction_or_zero, "0", 0.0),
        (fraction_or_zero, "1", 1.0),
        (quantile, "0.5", 0.5),
        (quantile, "0.999", 0.999),
        (port, "1", 1),
        (port, "65535", 65535),
        (port_or_any, "0", 0),
        (port_or_any, "65535", 65535),
    ],
)
def test_a_value_within_bounds_is_converted(kind: Type, text: str, value: float) -> None:
    assert kind(text) == value
    assert type(kind(text)) is type(value)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (positive_number, "0", "must be > 0, got 0"),
        (positive_number, "-1", "must be > 0, got -1"),
        (positive_number, "inf", "must be a finite number, got inf"),
        (positive_number, "nan", "must be a number, got nan"),
        (positive_number, "fast", "must be a number, got 'fast'"),
        (non_negative_number, "-0.5", "must be >= 0, got -0.5"),
        (non_negative_number, "inf", "must be a finite number, got inf"),
        (positive_or_infinite, "0", "must be > 0 or inf, got 0"),
        (positive_or_infinite, "-inf", "must be > 0 or inf, got -inf"),
        (positive_or_infinite, "nan", "must be a number, got nan"),
        (positive_integer, "0", "must be >= 1, got 0"),
        (positive_integer, "2.5", "must be an integer, got '2.5'"),
        (non_negative_integer, "-1", "must be >= 0, got -1"),
        (fraction, "0", "must be in (0, 1], got 0"),
        (fraction, "1.01", "must be in (0, 1], got 1.01"),
        (fraction_or_zero, "-0.1", "must be in [0, 1], got -0.1"),
        (fraction_or_zero, "1.5", "must be in [0, 1], got 1.5"),
        (quantile, "0", "must be in (0, 1), got 0"),
        (quantile, "1", "must be in (0, 1), got 1"),
        (port, "0", "must be a port number in 1..65535, got 0"),
        (port, "65536", "must be a port number in 1..65535, got 65536"),
        (port, "http", "must be an integer, got 'http'"),
        (port_or_any, "-1", "must be a port number in 0..65535 (0: any free port), got -1"),
        (port_or_any, "65536", "must be a port number in 0..65535 (0: any free port), got 65536"),
    ],
)
def test_a_value_out_of_bounds_says_what_it_must_be(kind: Type, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        kind(text)
    assert str(raised.value) == message


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="tool")
    parser.add_argument("--rate", "-r", type=positive_number)
    parser.add_argument("--mode", choices=("a", "b"))
    parser.add_argument("--count", type=int)
    return parser


def _parse_error(*argv: str) -> str:
    with pytest.raises(ParseError) as raised:
        _parser().parse_args(argv)
    assert raised.value.prog == "tool"
    return str(raised.value)


def test_a_rejected_value_names_its_flag_first() -> None:
    assert _parse_error("--rate", "0") == "--rate/-r must be > 0, got 0 (see tool --help)"
    assert _parse_error("-r", "x") == "--rate/-r must be a number, got 'x' (see tool --help)"


def test_argparse_words_its_own_errors_as_before() -> None:
    assert _parse_error("--mode", "c") == (
        "argument --mode: invalid choice: 'c' (choose from 'a', 'b') (see tool --help)"
    )
    assert _parse_error("--count", "x") == (
        "argument --count: invalid int value: 'x' (see tool --help)"
    )
    assert _parse_error("--rate") == "argument --rate/-r: expected one argument (see tool --help)"
    assert _parse_error("extra") == "unrecognized arguments: extra (see tool --help)"


def test_values_within_bounds_reach_the_namespace() -> None:
    args = _parser().parse_args(["-r", "2.5", "--mode", "a", "--count", "3"])
    assert (args.rate, args.mode, args.count) == (2.5, "a", 3)


def test_a_service_target_is_the_api_s_default_unless_given() -> None:
    parser = OneLineParser(prog="tool")
    service_target_arguments(parser)
    default = ServiceLevel()
    assert vars(parser.parse_args([])) == {
        "target": default.target,
        "within": default.answer_within_seconds,
    }
    given = parser.parse_args(["--target", "0.9", "--within", "15"])
    assert (given.target, given.within) == (0.9, 15.0)
    with pytest.raises(ParseError, match=r"^--target must be in \(0, 1\], got 0 "):
        parser.parse_args(["--target", "0"])
