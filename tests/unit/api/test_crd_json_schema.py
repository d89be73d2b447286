"""The ContactCenter's JSON Schema for editors (schemas/): checked in and current, and it
accepts what the apiserver accepts and flags what its schema (not its CEL rules) rejects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from jsonschema import Draft7Validator

from switchboard.api.crd import editor_json_schema, editor_json_schema_text
from switchboard.cli import main
from tests.factory import changed, valid_manifest
from tests.invalid_manifests import INVALID_MANIFESTS, InvalidManifest
from tests.strategies import contact_center_manifests

REPO = Path(__file__).resolve().parents[3]
SCHEMA_FILE = REPO / "schemas" / "switchboard.io" / "contactcenter_v1alpha1.json"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
VALIDATOR = Draft7Validator(editor_json_schema())

# Rejected by the schema's types, enums, bounds and required fields (CEL rules and update-time
# transitions are the apiserver's alone).
SCHEMA_CASES = [case for case in INVALID_MANIFESTS if not case.from_cel and case.old is None]


def test_the_checked_in_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == editor_json_schema_text(), (
        "regenerate with `make generate`"
    )


def test_the_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crd", "--json-schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_FILE.read_text(encoding="utf-8")


def test_it_is_a_valid_draft_7_schema() -> None:
    Draft7Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_valid(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        if document and document.get("kind") == "ContactCenter":
            assert not _errors(document)


@settings(max_examples=25, deadline=None)
@given(manifest=contact_center_manifests())
def test_what_the_models_accept_is_valid(manifest: dict[str, Any]) -> None:
    assert not _errors(manifest)


def test_there_are_schema_cases() -> None:
    assert len(SCHEMA_CASES) >= 10


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=lambda case: case.id)
def test_what_the_crd_schema_rejects_is_flagged(case: InvalidManifest) -> None:
    assert _errors(case.manifest), f"{case.id} should be flagged ({case.message})"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("spec.bot.modle", {"name": "x"}),  # a misspelt field: kubectl apply rejects it too
        ("spec.channels.0.replica", 2),
        ("kind", "ContactCentre"),
        ("apiVersion", "switchboard.io/v1"),
    ],
)
def test_unknown_fields_and_other_kinds_are_flagged(where: str, value: Any) -> None:
    assert _errors(changed({where: value}))


def test_int_or_string_quantities_take_both() -> None:
    for cpu in (2, "500m"):
        resources = {"requests": {"cpu": cpu, "memory": "256Mi"}}
        assert not _errors(changed({"spec.bot.resources": resources}))


def test_status_is_not_part_of_a_manifest() -> None:
    assert _errors({**valid_manifest(), "status": {"observedGeneration": 1}})


def _errors(manifest: dict[str, Any]) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(manifest)]
