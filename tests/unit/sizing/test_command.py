"""`switchboard sizing`, through the command line's entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.cli import main

CLASSIC = ["sizing", "--arrivals", "100", "--interval", "1800", "--aht", "180"]
KEYS = {"servers", "service_level", "wait_probability", "asa_seconds", "abandonment", "occupancy"}


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main([*argv, "--output", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_classic_example_needs_fourteen_servers(capsys: pytest.CaptureFixture[str]) -> None:
    result = _json(capsys, *CLASSIC, "--target", "0.8", "--within", "20")
    assert isinstance(result, dict)
    assert set(result) == KEYS
    assert result["servers"] == 14
    assert result["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert result["wait_probability"] == pytest.approx(0.174, abs=5e-4)
    assert result["abandonment"] == 0


def test_a_given_staffing_is_evaluated(capsys: pytest.CaptureFixture[str]) -> None:
    result = _json(capsys, *CLASSIC, "--servers", "13")
    assert isinstance(result, dict)
    assert result["servers"] == 13
    assert result["service_level"] < 0.8
    unstable = _json(capsys, *CLASSIC, "--servers", "10")
    assert isinstance(unstable, dict)
    assert unstable["asa_seconds"] is None  # waits grow without bound


def test_patience_brings_abandonment_and_its_cap(capsys: pytest.CaptureFixture[str]) -> None:
    result = _json(capsys, *CLASSIC, "--patience", "60", "--max-abandon", "0.01")
    assert isinstance(result, dict)
    assert 0 < result["abandonment"] <= 0.01


def test_the_table_names_the_model_and_the_staffing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLASSIC, "--max-occupancy", "0.85"]) == 0
    out = capsys.readouterr().out
    assert "Erlang C" in out
    assert " 14 " in out


def test_a_forecast_file_gives_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("start,arrivals,aht\n08:00,100,180\n08:30,250,200\n09:00,0,200\n")
    rows = _json(capsys, "sizing", "--forecast", str(plan), "--interval", "1800")
    assert isinstance(rows, list)
    assert [row["start"] for row in rows] == ["08:00", "08:30", "09:00"]
    assert all(set(row) == KEYS | {"start"} for row in rows)
    assert [row["servers"] for row in rows][0::2] == [14, 0]
    assert main(["sizing", "--forecast", str(plan)]) == 0
    assert "08:30" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sizing", "--arrivals", "-5", "--aht", "180"], "arrivals must be a number >= 0"),
        ([*CLASSIC, "--target", "0"], "target must be in (0, 1]"),
        ([*CLASSIC, "--target", "1.2"], "target must be in (0, 1]"),
        ([*CLASSIC, "--aht", "-3"], "handle time"),
        ([*CLASSIC, "--interval", "0"], "--interval must be > 0"),
        ([*CLASSIC, "--patience", "0"], "patience"),
        ([*CLASSIC, "--servers", "-1"], "--servers must be >= 0"),
        (["sizing", "--arrivals", "1e9", "--interval", "1", "--aht", "180"], "no staffing up to"),
        (["sizing", "--aht", "180"], "give --arrivals and --aht"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("switchboard sizing: ")
    assert message in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,arrivals\n08:00,10\n", "header must name start,arrivals,aht"),
        ("start,arrivals,aht\n", "no intervals"),
        ("start,arrivals,aht\n08:00,ten,180\n", "line 2: 'ten' is not a number"),
        ("start,arrivals,aht\n08:00,10\n", "line 2: expected start,arrivals,aht"),
        ("start,arrivals,aht\n08:00,-10,180\n", "interval 08:00: arrivals must be"),
    ],
)
def test_a_malformed_forecast_file_is_reported(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(content)
    assert main(["sizing", "--forecast", str(plan)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_a_missing_forecast_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sizing", "--forecast", str(tmp_path / "absent.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
