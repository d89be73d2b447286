"""Shared field types of the ContactCenter API: names, quantities, durations, versions.

Each type's constraint is declared once; pydantic checks it (so `switchboard render` rejects
what the apiserver rejects) and writes it into the JSON schema (which becomes the CRD).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from switchboard.api.rules import Rule, WithRules

# Kubernetes' camelCase on the wire, snake_case in Python, either accepted on input.
CAMEL_CASE = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
)


class ApiModel(WithRules):
    """Base of the spec models: camelCase on the wire, unknown fields rejected, immutable."""

    model_config = ConfigDict(**CAMEL_CASE, extra="forbid", frozen=True)


class StatusModel(BaseModel):
    """Base of the status models: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(**CAMEL_CASE, extra="ignore")


def defaulted(model: type[ApiModel], description: str) -> Any:
    """A field holding a sub-object that is there even when left out, with all its defaults.

    The CRD carries the whole default object (not `{}`): the apiserver checks defaults, CEL rules
    included, as written, and `kubectl explain` shows what leaving it out means.
    """
    default = model().model_dump(mode="json", exclude_none=True)
    return Field(
        default_factory=model, description=description, json_schema_extra={"default": default}
    )


# --- names -----------------------------------------------------------------------------------

DNS_LABEL_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

ChannelName = Annotated[
    str, StringConstraints(min_length=1, max_length=20, pattern=DNS_LABEL_PATTERN)
]
SecretName = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
]
SecretKey = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)
]
Image = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\s]+$")]
MetricName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)
]
PromQL = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
HttpURL = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, pattern=r"^https?://[^\s]+$")
]
Hostname = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=r"^[-.:a-zA-Z0-9\[\]]+$")
]
"""A host name, an IPv4 address or a bracketed IPv6 one."""
EmailAddress = Annotated[
    str,
    StringConstraints(min_length=3, max_length=254, pattern=r"^[^\s@<>()]+@[-.a-zA-Z0-9]+$"),
]
"""A bare address (`support@example.com`), without a display name."""
# What the bot can load a model from: a URL, a file in its image or volume, or a key of a
# ConfigMap in the ContactCenter's namespace (which the operator mounts into the bot's pods).
CONFIG_MAP_MODEL_PATTERN = r"configmap://([a-z0-9]([-a-z0-9.]*[a-z0-9])?)/([-._a-zA-Z0-9]+)"
ModelURI = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=2048,
        pattern=rf"^((https?|file)://[^\s]+|{CONFIG_MAP_MODEL_PATTERN})$",
    ),
]
# Valid as a Kubernetes label value (the bot's pods carry it), so at most 63 characters.
ModelName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)
]
MODEL_VERSION_PATTERN = r"^v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z]([-0-9A-Za-z.]*[0-9A-Za-z])?)?$"
ModelVersion = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=MODEL_VERSION_PATTERN)
]


# --- quantities ------------------------------------------------------------------------------

# Kubernetes resource.Quantity, unsigned.
QUANTITY_PATTERN = (
    r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE][-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)))?$"
)
STORAGE_PATTERN = r"^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"


def _int_to_str(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# CPU or memory: `500m`, `1`, `256Mi`. Integers are accepted like Kubernetes does and kept as text.
ResourceQuantity = Annotated[
    str,
    BeforeValidator(_int_to_str),
    StringConstraints(max_length=64, pattern=QUANTITY_PATTERN),
    WithJsonSchema(
        {"x-kubernetes-int-or-string": True, "maxLength": 64, "pattern": QUANTITY_PATTERN}
    ),
]
# Volume size: `20Gi`. A string so CEL can compare it with quantity().
StorageQuantity = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=STORAGE_PATTERN),
]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)$")


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity (`500m` -> 0.5, `1Gi` -> 1073741824)."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = Decimal(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** Decimal(suffix[1:])
    raise ValueError(f"not a quantity: {text!r}")


# --- durations -------------------------------------------------------------------------------

# A Go duration as CEL's duration() and kubectl users know it: `30s`, `10m`, `1h30m`, `0`.
DURATION_PATTERN = r"^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$"
Duration = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=DURATION_PATTERN),
]
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_at_least(minimum: str, field: str) -> Rule:
    """The duration `field` (a path such as `metrics.interval`) is at least `minimum`."""
    # The CEL is silent on a value the pattern already refused (the apiserver runs both).
    return Rule(
        f"!self.matches(r'{DURATION_PATTERN}') || duration(self) >= duration('{minimum}')",
        f"{field} must be at least {minimum}",
        lambda value: duration_seconds(value) >= duration_seconds(minimum),
    )


def duration_seconds(text: str) -> float:
    """Seconds in a duration string (`1h30m` -> 5400.0)."""
    if text == "0":
        return 0.0
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


# --- times -----------------------------------------------------------------------------------


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# An RFC 3339 time as Kubernetes writes it (UTC, seconds, `Z`).
Time = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]
