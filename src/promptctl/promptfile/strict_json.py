"""JSON as JSON defines it: `json.loads` also reads NaN, Infinity and -Infinity.

No JSON writer sends them and the results document refuses them, so what promptctl
reads from files and models (dataset rows, a model's tool arguments) is read with
`loads` here: one of them is a ValueError saying which, like any other invalid JSON.
"""

from __future__ import annotations

import json
from typing import Any

from promptctl.promptfile.json_text import loads_clean

__all__ = ["loads", "reason"]


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """`json.loads` without NaN and the infinities (ValueError, RecursionError as it),
    each lone surrogate read as U+FFFD (`json_text`: no UTF-8 writer takes one)."""
    return loads_clean(text, parse_constant=_refuse)


def reason(exc: ValueError) -> str:
    """What `json.loads` refused, in a reader's words: besides invalid JSON
    (`JSONDecodeError`), Python refuses integers of over 4,300 digits with a ValueError
    whose text advises `sys.set_int_max_str_digits()`."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if "integer string conversion" in str(exc):
        return "a number with more than 4,300 digits"
    return str(exc)
