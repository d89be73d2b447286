"""`switchboard gateway` says in one line what its wiring lacks, before it serves anything."""

import pytest

from switchboard.cli import main
from tests.unit.dataplane.test_wiring import COMMON

GATEWAY = {
    **COMMON,
    "SWITCHBOARD_CHANNEL_NAME": "web",
    "SWITCHBOARD_CHANNEL_TYPE": "webchat",
    "SWITCHBOARD_ROUTING_FILE": "/etc/switchboard/routing/routing.json",
}


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {**GATEWAY, "SWITCHBOARD_CHANNEL_NAME": ""},
            "SWITCHBOARD_CHANNEL_NAME is not set: the role reads it from the operator's wiring",
        ),
        (
            {**GATEWAY, "SWITCHBOARD_CHANNEL_TYPE": "api"},
            "SWITCHBOARD_API_TOKEN is not set: the role reads it from the operator's wiring",
        ),
        (
            {**GATEWAY, "SWITCHBOARD_ROUTING_FILE": ""},
            "SWITCHBOARD_ROUTING_FILE is not set: the gateway reads the bot tracks from it",
        ),
    ],
)
def test_a_gateway_without_its_wiring_is_a_one_line_usage_error(
    env: dict[str, str],
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["gateway"]) == 2
    assert capsys.readouterr().err == f"switchboard gateway: {line}\n"
