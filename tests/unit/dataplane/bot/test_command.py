"""`switchboard bot`: wiring it cannot read is a usage error, one line, exit code 2."""

from __future__ import annotations

import os

import pytest

from switchboard.cli import main
from tests.unit.dataplane.test_wiring import COMMON

WIRING = {
    **COMMON,
    "SWITCHBOARD_MODEL_NAME": "telco-support",
    "SWITCHBOARD_MODEL_VERSION": "2.0.0",
    "SWITCHBOARD_MODEL_URI": "configmap://bot-model/model.yaml",
    "SWITCHBOARD_BOT_CONCURRENCY": "50",
    "SWITCHBOARD_BOT_TRACK": "stable",
    "SWITCHBOARD_HANDOFF_CONFIDENCE_THRESHOLD": "0.6",
    "SWITCHBOARD_HANDOFF_AMBIGUITY_MARGIN": "0.1",
}


@pytest.mark.parametrize(
    ("unset", "line"),
    [
        (
            "SWITCHBOARD_CONTACT_CENTER",
            "SWITCHBOARD_CONTACT_CENTER is not set: the role reads it from the operator's wiring",
        ),
        (
            "SWITCHBOARD_MODEL_URI",
            "SWITCHBOARD_MODEL_URI is not set: the role reads it from the operator's wiring",
        ),
        (
            None,  # SWITCHBOARD_HANDOFF_MAX_FAILED_TURNS is never set here
            "SWITCHBOARD_HANDOFF_MAX_FAILED_TURNS is not set: the role reads it from the "
            "operator's wiring",
        ),
    ],
)
def test_wiring_it_cannot_read_is_one_line_and_exit_code_2(
    unset: str | None,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in os.environ:
        if name.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
    for name, value in WIRING.items():
        if name != unset:
            monkeypatch.setenv(name, value)
    assert main(["bot"]) == 2
    assert capsys.readouterr().err == f"switchboard bot: {line}\n"
