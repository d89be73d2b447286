"""The entry point: every usage error, argparse's or a command's, is one line and exit code 2."""

from __future__ import annotations

import pytest

from switchboard.cli import main


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["sizing", "--arrivals", "100", "--aht", "180", "--max-occupancy", "0"],
            "switchboard sizing: --max-occupancy must be in (0, 1], got 0 "
            "(see switchboard sizing --help)",
        ),
        (
            ["simulate", "--serve", "65536"],
            "switchboard simulate: --serve must be a port number in 0..65535 "
            "(0: any free port), got 65536 (see switchboard simulate --help)",
        ),
        (
            ["simulate", "--seats-per-replica", "0"],
            "switchboard simulate: --seats-per-replica must be >= 1, got 0 "
            "(see switchboard simulate --help)",
        ),
        (
            ["sizing", "--output", "xml"],
            "switchboard sizing: argument --output: invalid choice: 'xml' "
            "(choose from 'table', 'json') (see switchboard sizing --help)",
        ),
        (
            ["size"],
            "switchboard: argument COMMAND: invalid choice: 'size' (choose from 'run', 'crd', "
            "'render', 'simulate', 'sizing', 'agents', 'bot', 'gateway', 'loadgen', "
            "'retention') "
            "(see switchboard --help)",
        ),
        ([], "switchboard: the following arguments are required: COMMAND (see switchboard --help)"),
        (
            ["sizing", "--arrivals", "100"],
            "switchboard sizing: give --arrivals and --aht, or a --forecast file",
        ),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""


def test_a_data_plane_role_without_its_wiring_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SWITCHBOARD_CONTACT_CENTER", raising=False)
    assert main(["agents"]) == 2
    assert capsys.readouterr().err == (
        "switchboard agents: SWITCHBOARD_CONTACT_CENTER is not set: "
        "the role reads it from the operator's wiring\n"
    )


def test_help_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sizing", "--help"])
    assert exited.value.code == 0
    assert "--max-occupancy F" in capsys.readouterr().out
