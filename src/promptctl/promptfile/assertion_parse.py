"""Assertions as written in a test (`- contains: hi`, `- {type: regex, value: ...}`) ->
`AssertionSpec`, checked where the file is read: the type exists, its required options
are there, regexes compile and are not catastrophic, a limit is a number, a tool-call's
arguments and schema make sense. Findings go to `diags`, located in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.errors import SourceLocation
from promptctl.promptfile.assertion_types import ASSERTION_TYPES, REGEX_TYPES, REQUIRED_OPTIONS
from promptctl.promptfile.datasets import Locate
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.model import AssertionSpec, TestCase
from promptctl.promptfile.regex_safety import REGEX_TIMEOUT_S, catastrophic
from promptctl.promptfile.rules import finding
from promptctl.promptfile.schemas import did_you_mean

__all__ = ["bare_schema_problems", "parse_assertion", "parse_asserts"]

_LIST_VALUED = frozenset({"contains-any", "contains-all"})
# a max that is not a non-negative number fails every case (-1, NaN) or errors each one
# after the call was paid for ("fast"): refused when the file loads
_LIMITS = frozenset({"cost", "latency", "ttft"})
_RESERVED = frozenset({"type", "value", "weight", "threshold"})


def _tool_call_problem(value: Any, data: Mapping[str, Any]) -> str | None:
    """What is wrong with a `tool-call` assertion's arguments (evals/assertions/tools.py)."""
    name = value if value is not None else data.get("name")
    if name is not None and not isinstance(name, str):
        return "`name` must be a tool's name"
    if "arguments" in data and not isinstance(data["arguments"], Mapping):
        return "`arguments` must be a mapping (a subset of the call's arguments)"
    if "schema" in data:
        from promptctl.promptfile.schemas import check_schema

        problem = check_schema(data["schema"])
        if problem:
            return f"invalid JSON Schema: {problem}"
    return None


def parse_assertion(raw: Any, loc: SourceLocation, diags: list[Diagnostic]) -> AssertionSpec | None:
    """Short (`is-json`, `contains: hi`) or long (`{type: regex, value: ...}`) form."""
    data = _long_form(raw, loc, diags)
    if data is None:
        return None
    name = str(data["type"])
    negate = name.startswith("not-")
    base = name[4:] if negate else name
    if base not in ASSERTION_TYPES:
        guess = did_you_mean(base, ASSERTION_TYPES)
        hint = f"did you mean '{'not-' if negate else ''}{guess}'?" if guess else None
        diags.append(finding("PC015", f"unknown assertion type '{name}'", loc, hint))
        return None
    needs = REQUIRED_OPTIONS.get(base, ())
    if needs and data.keys().isdisjoint(needs):
        keys = " or ".join(f"`{k}`" for k in needs)
        diags.append(
            finding(
                "PC016",
                f"assertion '{name}' needs {keys}",
                loc,
                f"use the long form: {{type: {name}, {needs[0]}: ...}}",
            )
        )
        return None
    value = data.get("value")
    if base in _LIMITS:
        limit = data.get("max", value)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit >= 0:
            unit = "USD" if base == "cost" else "milliseconds"
            diags.append(
                finding(
                    "PC016",
                    f"'{name}' needs a number >= 0 as its max, got {limit!r}",
                    loc,
                    f"give the limit in {unit}, e.g. {{type: {name}, max: "
                    f"{'0.01' if base == 'cost' else '800'}}}",
                )
            )
            return None
    if base in _LIST_VALUED and value is not None and not isinstance(value, list):
        diags.append(finding("PC016", f"'{name}' needs a list `value`", loc))
        return None
    if base in REGEX_TYPES:
        try:
            re.compile(str(value))
        except re.error as exc:
            diags.append(finding("PC016", f"invalid regex {value!r}: {exc.msg}", loc))
            return None
        if catastrophic(str(value)):
            diags.append(
                finding(
                    "PC110",
                    f"regex {value!r} nests a repeat inside a repeat: matching can take "
                    "exponential time (each match is stopped after "
                    f"{REGEX_TIMEOUT_S:g}s)",
                    loc,
                    "make the inner part unambiguous, e.g. (a+)+ -> a+, or use a "
                    "possessive repeat (a++)",
                )
            )
    if base == "tool-call":
        problem = _tool_call_problem(value, data)
        if problem:
            diags.append(finding("PC016", f"'{name}': {problem}", loc))
            return None
    schema = value if value is not None else data.get("schema")
    if base == "json-schema" and schema is not None:
        from promptctl.promptfile.schemas import check_schema

        problem = check_schema(schema)
        if problem:
            diags.append(finding("PC016", f"invalid JSON Schema: {problem}", loc))
            return None
    for key in ("weight", "threshold"):
        if key not in data:
            continue
        number = data[key]
        if isinstance(number, bool) or not isinstance(number, int | float):
            diags.append(finding("PC016", f"'{name}': `{key}` must be a number", loc))
            return None
    return AssertionSpec(
        base,
        value,
        negate,
        float(data.get("weight", 1.0)),
        float(data["threshold"]) if "threshold" in data else None,
        {k: v for k, v in data.items() if k not in _RESERVED},
        loc,
    )


def _long_form(raw: Any, loc: SourceLocation, diags: list[Diagnostic]) -> dict[str, Any] | None:
    """`contains: hi` -> `{type: contains, value: hi}`; a mapping value becomes options."""
    if isinstance(raw, str):
        return {"type": raw}
    # a dataset row's, which no schema checked first (`type` first: a dict is the rule)
    if type(raw) is not dict and not isinstance(raw, Mapping):
        diags.append(
            finding(
                "PC015",
                f"assertion must be a type or a mapping, got {raw!r:.60}",
                loc,
                "write `- TYPE: value` or `- {type: TYPE, ...}`",
            )
        )
        return None
    data = dict(raw)
    if "type" in data:
        return data
    named = [k for k in data if k not in _RESERVED]
    if len(named) != 1:
        what = f"several keys ({', '.join(map(str, named))})" if named else "no type"
        diags.append(
            finding(
                "PC015",
                f"assertion has {what}",
                loc,
                "write one `- TYPE: value` per list item, or `- {type: TYPE, ...}`",
            )
        )
        return None
    key = named[0]
    value = data.pop(key)
    data["type"] = str(key)
    if isinstance(value, dict):
        data.update(value)
    elif value is not None:
        data["value"] = value
    return data


def parse_asserts(
    raw: Any, locate: Locate, ptr: str, diags: list[Diagnostic]
) -> list[AssertionSpec]:
    """The assertions of a list at `ptr` (`/tests/0/assert`); malformed ones reported."""
    out = []
    for i, item in enumerate(raw or ()):
        if item is None:  # removed after a schema error, already reported
            continue
        spec = parse_assertion(item, locate(f"{ptr}/{i}"), diags)
        if spec is not None:
            out.append(spec)
    return out


def bare_schema_problems(
    tests: Sequence[TestCase], output_schema: object, diags: list[Diagnostic]
) -> None:
    """A `json-schema` assertion with neither a schema of its own nor the prompt's
    output.schema to fall back on (PC016, once per assertion in the file)."""
    if output_schema is not None:
        return
    seen: set[object] = set()
    for test in tests:
        for spec in test.asserts:
            bare = spec.value is None and "schema" not in spec.options
            if spec.type != "json-schema" or not bare or spec.location in seen:
                continue
            seen.add(spec.location)
            diags.append(
                finding(
                    "PC016",
                    "assertion 'json-schema' has no schema and the prompt no output.schema",
                    spec.location,
                    "add output.schema, or write {type: json-schema, value: {...}}",
                )
            )
