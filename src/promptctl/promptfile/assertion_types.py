"""The assertion names a test may use (each also with a `not-` prefix), and what each needs.

One table: a new assertion type is a checker registered in `promptctl.evals.assertions`
plus its row here (tests/test_extension_points.py keeps the two equal). Each row names
the keys of which the assertion needs at least one (the bare short form gives none);
`()` means it can stand alone.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ASSERTION_TYPES", "REGEX_TYPES", "REQUIRED_OPTIONS"]

REQUIRED_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "equals": ("value",),
    "contains": ("value",),
    "icontains": ("value",),
    "contains-any": ("value",),
    "contains-all": ("value",),
    "starts-with": ("value",),
    "regex": ("value",),
    "is-json": (),
    # `value`, `schema:` or else the prompt's output.schema (the loader checks the last
    # once the output spec is known: `assertion_parse.bare_schema_problems`)
    "json-schema": (),
    "json-path": ("path",),
    "length": ("min", "max"),
    "levenshtein": ("value",),
    "cost": ("max", "value"),
    "latency": ("max", "value"),
    "ttft": ("max", "value"),
    "python": ("value", "file"),
    "llm-rubric": ("value", "rubric"),
    # `name` (or the short form's value), `arguments` and `schema` are all optional: alone,
    # `tool-call` means "calls some tool" and `not-tool-call` "calls no tool"
    "tool-call": (),
}

ASSERTION_TYPES: frozenset[str] = frozenset(REQUIRED_OPTIONS)

# Types whose `value` is a regular expression the loader compiles up front.
REGEX_TYPES: frozenset[str] = frozenset({"regex"})
