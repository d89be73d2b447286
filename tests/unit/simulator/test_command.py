"""`switchboard simulate` as a person runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.cli import main

QUICK = ["simulate", "--profile", "morning-ramp", "--peak-rate", "0.1", "--history-days", "3"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--target", "1.5"],
        ["--peak-rate", "-1"],
        ["--aht", "0"],
        ["--bot-containment", "2"],
        ["--bot-servers", "5", "--agent-servers", "5", "--policy", "hpa"],
        ["--bot-servers", "5"],
        ["--min-replicas", "5", "--max-replicas", "2"],
        ["--interval", "0"],
        ["--forecast-quantile", "1"],
        ["--serve", "0"],
        ["--serve", "0", "--contact-center", "acme"],
        ["--serve", "0", "--bot-servers", "3", "--agent-servers", "3", "--speed", "0"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*QUICK, *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("switchboard simulate: ")
    assert captured.err.count("\n") == 1


def test_bad_trace_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("start,arrivals\n07:00,12\n07:05,lots\n")
    assert main(["simulate", "--trace", str(trace)]) == 2
    assert "line 3" in capsys.readouterr().err
    assert main(["simulate", "--trace", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("policy", ["switchboard", "hpa", "keda", "erlang-at-mean", "hindsight"])
def test_offline_json_report(policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*QUICK, "--policy", policy, "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["policy"] == policy
    for workload in ("bot", "agents"):
        assert report["intervals"][workload][0]["start"] == "08:00"
        assert 0 <= report["totals"][workload]["service_level"] <= 1
        assert report["totals"][workload]["replica_hours"] > 0


def test_offline_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "day.png"
    assert main([*QUICK, "--plot", str(plot)]) == 0
    assert "policy switchboard" in capsys.readouterr().out
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_trace_drives_the_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.csv"
    rows = [f"2003-03-0{d}T07:{m:02d},{20 + m}" for d in (3, 4) for m in range(0, 60, 5)]
    trace.write_text("start,arrivals\n" + "\n".join(rows) + "\n")
    fixed = ["--bot-servers", "12", "--agent-servers", "12"]
    assert main(["simulate", "--trace", str(trace), *fixed, "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["policy"] == "fixed"
    starts = [row["start"] for row in report["intervals"]["agents"]]
    assert starts == ["07:00", "07:15", "07:30", "07:45"]


def test_live_mode_serves_then_stops_after_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    fixed = ["--bot-servers", "5", "--agent-servers", "5"]
    arguments = [*QUICK, "--serve", "0", "--address", "127.0.0.1", *fixed]
    assert main([*arguments, "--speed", "3000", "--duration", "300"]) == 0
