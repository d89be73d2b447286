"""Does a live object already hold what we want? Deciding that without a request keeps a
restarted or idle operator from writing anything.

The apiserver defaults fields we leave out and normalises some we set (quantities such as
"1000m" come back as "1"), so "holds" means: every field of the desired object is present in
the live one with an equal value, comparing quantities by amount. `merge_patch` is the
smallest write that turns a stored document (status) into the one built.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from switchboard.api.types import parse_quantity


def quantity_amount(value: str) -> Decimal | None:
    """The amount a Kubernetes quantity string stands for, or None if it is not one."""
    try:
        return parse_quantity(value)
    except (ValueError, ArithmeticError):
        return None


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def difference(live: Any, desired: Any, path: str = "") -> str | None:
    """The path of the first field of `desired` that `live` does not hold, or None when
    `live` holds every field of `desired` with an equal value."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return None if _is_empty(desired) and live is None else path or "."
        for key, value in desired.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in live:
                if not _is_empty(value):
                    return where
                continue
            found = difference(live[key], value, where)
            if found is not None:
                return found
        return None
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return path
        for index, (have, want) in enumerate(zip(live, desired, strict=True)):
            found = difference(have, want, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if _scalars_equal(live, desired) else path


def _scalars_equal(live: Any, desired: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live  # in Python True == 1; in a manifest they differ
    if desired == live:
        return True
    if isinstance(desired, str | int | float) and isinstance(live, str | int | float):
        want, have = quantity_amount(str(desired)), quantity_amount(str(live))
        return want is not None and want == have
    return False


def merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns `current` into `desired`: only what
    differs, with null for what must go (a merge patch merges maps, it does not replace them)."""
    patch: dict[str, Any] = dict.fromkeys(set(current) - set(desired))
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch(old, value)
            if nested:
                patch[key] = nested
        elif key not in current or old != value:
            patch[key] = value
    return patch
