"""Each rule is declared once, so its CEL and its Python check must agree: every CEL rule of the
generated CRD has a manifest in tests/invalid_manifests.py breaking it (the integration tests
show the apiserver rejects it with the rule's message), and pydantic rejects the same manifest
with that same message and nothing else. Update-time rules are the apiserver's alone."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import ValidationError

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.crd import custom_resource_definition, openapi_schema
from switchboard.api.rules import Rule, WithRules
from tests.invalid_manifests import INVALID_MANIFESTS, InvalidManifest
from tests.unit.api.schema_nodes import nodes

Schema = dict[str, Any]


def _crd_rules() -> dict[str, tuple[str, str, Schema]]:
    """Every CEL rule of the CRD: message -> expression, and the path and node it first sits on
    (a rule of a shared part, such as resources, sits at several)."""
    version = custom_resource_definition()["spec"]["versions"][0]
    found: dict[str, tuple[str, str, Schema]] = {}
    for path, node in nodes(version["schema"]["openAPIV3Schema"], "contactcenter"):
        for rule in node.get("x-kubernetes-validations", []):
            expression, _, _ = found.setdefault(rule["message"], (rule["rule"], path, node))
            assert expression == rule["rule"], f"two rules say {rule['message']!r}"
    return found


CRD_RULES = _crd_rules()
# The engines have one value each, so the enum rejects any change before `self == oldSelf`
# can fail; the rule guards the day a second engine exists.
UNREACHABLE = {
    message
    for message, (_, path, node) in CRD_RULES.items()
    if path.endswith(".engine") and len(node["enum"]) == 1
}
UPDATE_TIME = sorted(
    message
    for message, (expression, _, _) in CRD_RULES.items()
    if "oldSelf" in expression and message not in UNREACHABLE
)
CREATE_TIME = sorted(set(CRD_RULES) - UNREACHABLE - set(UPDATE_TIME))


def _short(message: str) -> str:
    return message.split(":")[0]


def _breaking(message: str) -> list[InvalidManifest]:
    cases = [case for case in INVALID_MANIFESTS if case.from_cel and case.message in message]
    assert cases, f"no manifest in tests/invalid_manifests.py breaks the rule {message!r}"
    return cases


def test_every_cel_case_breaks_a_rule_of_the_crd() -> None:
    unknown = [
        case.id
        for case in INVALID_MANIFESTS
        if case.from_cel and not any(case.message in message for message in CRD_RULES)
    ]
    assert not unknown


def test_the_crd_has_rules_of_both_kinds_and_two_unreachable_ones() -> None:
    assert len(CREATE_TIME) >= 20 and len(UPDATE_TIME) >= 5
    assert len(UNREACHABLE) == 2


@pytest.mark.parametrize("message", CREATE_TIME, ids=_short)
def test_pydantic_rejects_what_breaks_a_create_time_rule_with_its_message(message: str) -> None:
    for case in _breaking(message):
        assert case.old is None, case.id
        with pytest.raises(ValidationError) as error:
            ContactCenter.model_validate(case.manifest)
        assert [problem["msg"] for problem in error.value.errors()] == [
            f"Value error, {message}"
        ], case.id


@pytest.mark.parametrize("message", UPDATE_TIME, ids=_short)
def test_an_update_time_rule_is_left_to_the_apiserver(message: str) -> None:
    for case in _breaking(message):
        assert case.old is not None, case.id
        ContactCenter.model_validate(case.old)
        ContactCenter.model_validate(case.manifest)


# --- the mechanism, on a model of its own ---------------------------------------------------

AT_LEAST_TWO = Rule("self.size() >= 2", "name must have at least 2 letters", lambda n: len(n) >= 2)
ORDERED = Rule("self.low <= self.high", "low must not exceed high", lambda m: m.low <= m.high)
UNCHANGED = Rule("self == oldSelf", "name cannot change")


class Bounds(WithRules):
    RULES = (ORDERED,)

    name: Annotated[str, AT_LEAST_TWO, UNCHANGED] = "ab"
    low: int = 0
    high: int = 0


def test_rules_land_on_their_node_of_the_schema() -> None:
    schema = openapi_schema(Bounds)
    assert schema["x-kubernetes-validations"] == [ORDERED.cel]
    assert schema["properties"]["name"]["x-kubernetes-validations"] == [
        AT_LEAST_TWO.cel,
        UNCHANGED.cel,
    ]
    assert ORDERED.cel == {"rule": "self.low <= self.high", "message": "low must not exceed high"}


def test_a_rule_checks_only_what_passed_the_schema_and_reports_its_message() -> None:
    with pytest.raises(ValidationError) as error:
        Bounds.model_validate({"name": 7})
    assert [problem["type"] for problem in error.value.errors()] == ["string_type"]
    with pytest.raises(ValidationError, match="name must have at least 2 letters"):
        Bounds(name="a")
    with pytest.raises(ValidationError, match="low must not exceed high"):
        Bounds(low=2, high=1)
    # A rule without a check (here an update-time one) never rejects on its own.
    assert Bounds(name="ab", low=1, high=1).name == "ab"
