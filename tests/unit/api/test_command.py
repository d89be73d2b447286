import pytest

from switchboard.api.crd import crd_yaml
from switchboard.api.reference import reference_markdown
from switchboard.cli import main


def test_crd_prints_the_crd(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crd"]) == 0
    assert capsys.readouterr().out == crd_yaml()


def test_crd_reference_prints_the_api_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crd", "--reference"]) == 0
    out = capsys.readouterr().out
    assert out == reference_markdown()
    assert "## `spec.bot.model`" in out
