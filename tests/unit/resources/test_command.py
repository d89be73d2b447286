"""`switchboard render`: prints what build_all builds; bad input is one line and exit code 2."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from switchboard.cli import main
from switchboard.resources import build_all
from switchboard.resources.command import KubernetesDumper
from tests.factory import example

EXAMPLES = ["quickstart", "omnichannel", "external-services"]


def _render(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["render", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", EXAMPLES)
def test_render_prints_what_the_operator_builds(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, err = _render(capsys, "-f", f"examples/{name}.yaml", "-n", "support")
    assert (code, err) == (0, "")
    printed = [doc for doc in yaml.safe_load_all(out) if doc is not None]
    expected = build_all(example(name))
    for built in expected:
        built["metadata"].pop("ownerReferences")  # a file has no uid yet
    assert printed == expected
    assert "Generated Secrets are not printed" in out
    assert not any(doc["kind"] == "Secret" for doc in printed)


def test_render_reads_standard_input_and_keeps_owner_references(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = Path("examples/quickstart.yaml").read_text(encoding="utf-8")
    stored = yaml.safe_load(manifest)
    stored["metadata"].update(namespace="support", uid="uid-1")
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(stored)))
    code, out, _ = _render(capsys, "-f", "-")
    assert code == 0
    printed = [doc for doc in yaml.safe_load_all(out) if doc is not None]
    assert all(doc["metadata"]["ownerReferences"][0]["uid"] == "uid-1" for doc in printed)


def _assert_usage_error(code: int, out: str, err: str, says: str) -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("switchboard render: "), err
    assert "Traceback" not in err
    assert says in err


def test_an_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _assert_usage_error(*_render(capsys, "-f", str(tmp_path / "missing.yaml")), "cannot read")


def test_a_file_that_is_not_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("spec: [unclosed\n", encoding="utf-8")
    _assert_usage_error(*_render(capsys, "-f", str(path)), "not valid YAML")


def test_a_file_without_a_contact_center(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n", encoding="utf-8")
    _assert_usage_error(*_render(capsys, "-f", str(path)), "no ContactCenter")


def _quickstart_changed(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    manifest = yaml.safe_load(Path("examples/quickstart.yaml").read_text(encoding="utf-8"))
    change(manifest["spec"])
    path = tmp_path / "contactcenter.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return path


def test_an_invalid_contact_center_says_what_and_where(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _quickstart_changed(
        tmp_path, lambda spec: spec["channels"].append({"name": "web", "type": "voice"})
    )
    code, out, err = _render(capsys, "-f", str(path))
    _assert_usage_error(code, out, err, "channels names must be unique")
    assert str(path) in err


def test_a_wrong_type_names_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _quickstart_changed(tmp_path, lambda spec: spec["channels"][0].update(replicas="two"))
    _assert_usage_error(*_render(capsys, "-f", str(path)), "spec.channels.0.replicas")


def test_names_yaml_1_1_reads_as_booleans_stay_strings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _quickstart_changed(
        tmp_path, lambda spec: spec["channels"].append({"name": "n", "type": "sms"})
    )
    code, out, _ = _render(capsys, "-f", str(path))
    assert code == 0
    assert "switchboard.io/channel: 'n'" in out


@pytest.mark.parametrize("text", ["868521108186e264", "1e5", "-2E-3", "7.", ".5", "1_000e3"])
def test_strings_go_yaml_reads_as_numbers_are_quoted(text: str) -> None:
    # kubectl's reader takes these for floats where PyYAML's YAML 1.1 resolver sees strings; a
    # wiring hash of digits and one `e` became a float and the apiserver refused the object.
    dumped = yaml.dump({"hash": text}, Dumper=KubernetesDumper)
    assert dumped in (f"hash: '{text}'\n", f'hash: "{text}"\n')
    assert yaml.safe_load(dumped) == {"hash": text}


def test_words_and_hex_hashes_stay_bare() -> None:
    assert yaml.dump({"hash": "a1b2e3", "name": "web"}, Dumper=KubernetesDumper) == (
        "hash: a1b2e3\nname: web\n"
    )
