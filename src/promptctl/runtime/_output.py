"""Parse and validate a JSON prompt's answer against its output schema."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from promptctl.promptfile.model import OutputSpec

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["parse_output"]

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*)\n```$", re.DOTALL)
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Draft202012Validator]] = {}


def parse_output(output: OutputSpec, text: str) -> tuple[Any, str | None]:
    """(data, error): text prompts give (None, None); JSON ones parse then validate.

    One surrounding Markdown code fence is tolerated, as the eval assertions do.
    """
    if output.format != "json":
        return None, None
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError as exc:
        return None, f"answer is not JSON: {exc}"
    if output.schema is None:
        return data, None
    error = next(iter(_validator(output.schema).iter_errors(data)), None)
    if error is None:
        return data, None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return None, f"answer does not match the output schema at {where}: {error.message}"


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator
