"""`switchboard run`: its ports are checked before it looks for a cluster."""

from __future__ import annotations

import pytest

from switchboard.cli import main


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--metrics-port", "0"], "--metrics-port must be a port number in 1..65535, got 0"),
        (["--health-port", "65536"], "--health-port must be a port number in 1..65535, got 65536"),
        (["--health-port", "x"], "--health-port must be an integer, got 'x'"),
    ],
)
def test_a_bad_port_is_one_line_and_exit_code_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--all-namespaces", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"switchboard run: {says} ")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--lease-duration", "30s"], "--lease-duration needs --leader-election"),
        (
            ["--leader-election", "--lease-duration", "10s"],
            "--renew-deadline must be shorter than --lease-duration",
        ),
        (
            ["--leader-election", "--retry-period", "9s"],
            "--renew-deadline must be longer than 1.2 x --retry-period",
        ),
        (
            ["--leader-election", "--retry-period", "soon"],
            "--retry-period must be a duration such as 15s, got 'soon'",
        ),
        (["--leader-election", "--renew-deadline", "0"], "--renew-deadline must be longer than 0"),
    ],
)
def test_bad_leader_election_flags_are_one_line_and_exit_code_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before the operator looks for a cluster, with nothing started."""
    assert main(["run", "--all-namespaces", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"switchboard run: {says}")
