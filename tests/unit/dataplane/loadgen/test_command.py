"""`switchboard loadgen` says in one line what its flags lack, before it plays anyone."""

from pathlib import Path

import pytest

from switchboard.cli import main
from tests.unit.dataplane.bot.examples import MODELS

CORPUS = str(MODELS / "telco-corpus.yaml")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--corpus", CORPUS],
            "give the gateways to play customers against: --webchat, --api or both",
        ),
        (["--api", "http://gw", "--corpus", CORPUS], "--api needs --api-token-file"),
        (
            [
                "--webchat",
                "http://gw",
                "--agents",
                "2",
                "--agents-token-file",
                "TOKEN",
                "--corpus",
                CORPUS,
            ],
            "--agents needs --agents-url: where the agent workspace listens",
        ),
        (
            ["--webchat", "http://gw", "--corpus", CORPUS, "--profile", "flat", "--start", "08:00"],
            "--start is outside the profile, which runs from 09:00 to 17:00",
        ),
        (
            ["--webchat", "http://gw", "--corpus", CORPUS, "--start", "noon"],
            "--start must be a time of day (HH:MM), got 'noon' (see switchboard loadgen --help)",
        ),
        (
            ["--webchat", "http://gw", "--corpus", "missing.yaml"],
            "cannot read missing.yaml: No such file or directory",
        ),
    ],
)
def test_bad_flags_are_a_one_line_usage_error(
    args: list[str],
    line: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "TOKEN").write_text("secret\n")
    assert main(["loadgen", *args]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f": {line}\n"), err
    assert err.count("\n") == 1


def test_a_model_that_is_not_one_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.yaml"
    model.write_text("format: something/else\n")
    assert (
        main(["loadgen", "--webchat", "http://gw", "--corpus", CORPUS, "--model", str(model)]) == 2
    )
    assert f"{model} is not valid" in capsys.readouterr().err
