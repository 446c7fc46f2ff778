"""Total readers for a 200 response's JSON: a shape they do not expect is `bad_response`.

Adapters read vendor JSON through these so an odd body (a `null` message, a string where
an object belongs, a non-numeric token count) never escapes as AttributeError or
ValueError. Messages name the field, never echo its value: bodies may carry anything.
Token counts are the exception: a malformed usage block does not void a good answer, it
makes the count unknown (`count` returns None) and the gateway reports the cost as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError

__all__ = ["bad", "count", "obj", "opt_list", "opt_obj", "opt_str"]


def bad(field: str, what: str) -> ProviderError:
    return ProviderError("bad_response", f"response field {field} {what}")


def obj(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise bad(field, "is not an object" if value is not None else "is missing")
    return value


def opt_obj(value: Any, field: str) -> Mapping[str, Any]:
    """An optional object: absent or null reads as empty."""
    return {} if value is None else obj(value, field)


def opt_list(value: Any, field: str) -> list[Any]:
    """An optional array: absent or null reads as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(field, "is not an array")
    return value


def opt_str(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise bad(field, "is not a string")


MAX_TOKENS = 1_000_000_000  # a count above is no count: the usage is unknown


def count(data: Any, *path: str, required: bool = False) -> int | None:
    """The token count at `path`: 0 when an optional one is absent, None when unknown.

    Unknown means a required count is absent, or any count (or object on the way to
    it) has the wrong type: a negative, fractional, boolean or string count, or one over
    `MAX_TOKENS` (no call holds a billion tokens; 10**30 from a broken or hostile server
    would be a cost of ~$10**24 in the ledger, and SQLite cannot store it at all).
    """
    for key in path:
        if data is None:
            return None if required else 0
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    if data is None:
        return None if required else 0
    if isinstance(data, bool):
        return None
    if isinstance(data, float) and data.is_integer():
        data = int(data)
    if not isinstance(data, int) or data < 0 or data > MAX_TOKENS:
        return None
    return data
