"""Validation rules, each declared once: the apiserver's CEL and pydantic's check come from it.

A `Rule` holds a CEL expression, the message the user reads when it fails and, when
`switchboard render` must reject the same input as `kubectl apply`, the Python check of the
same condition. Update-time rules (those reading `oldSelf`) have no check: only the apiserver
knows the stored object.

Attach rules to a model by listing them in its `RULES`, or to a field by annotating its type:
`Annotated[Duration, duration_at_least("5s", "metrics.interval")]`. Either way the CEL becomes
an `x-kubernetes-validations` entry of that node in the CRD, and the check runs after the node
itself validated (as the apiserver runs CEL only on values that passed the schema).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

VALIDATIONS = "x-kubernetes-validations"


@dataclass(frozen=True)
class Rule:
    """A CEL rule, its message, and the Python check of the same condition (true: valid)."""

    expression: str
    message: str
    check: Callable[[Any], bool] | None = None

    @property
    def cel(self) -> dict[str, str]:
        """The `x-kubernetes-validations` entry."""
        return {"rule": self.expression, "message": self.message}

    def enforce(self, value: Any) -> Any:
        """`value`, or a ValueError with the rule's message when the check fails."""
        if self.check is not None and not self.check(value):
            raise ValueError(self.message)
        return value

    # A rule in a field's `Annotated[...]`: pydantic calls these two hooks.

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        if self.check is None:
            return schema
        return core_schema.no_info_after_validator_function(self.enforce, schema)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault(VALIDATIONS, []).append(self.cel)
        return json_schema


def _model_rules(schema: dict[str, Any], cls: type) -> None:
    rules: Sequence[Rule] = getattr(cls, "RULES", ())
    if rules:
        schema.setdefault(VALIDATIONS, []).extend(rule.cel for rule in rules)


class WithRules(BaseModel):
    """A model whose `RULES` are written into its schema and checked on every validation."""

    model_config = ConfigDict(json_schema_extra=_model_rules)

    RULES: ClassVar[Sequence[Rule]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in self.RULES:
            rule.enforce(self)
        return self


def unique_names(field: str) -> Rule:
    """The items of the list `field` (a path such as `rollout.analysis.metrics`) have distinct
    `name`s."""
    # The CEL variables are the list's initial and the letter after it: `c`, `d` for channels.
    item = field.rsplit(".", 1)[-1][0]
    other = chr(ord(item) + 1)
    return Rule(
        f"self.all({item}, self.exists_one({other}, {other}.name == {item}.name))",
        f"{field} names must be unique",
        lambda items: len({entry.name for entry in items}) == len(items),
    )
