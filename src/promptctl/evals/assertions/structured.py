"""Checks on the output as JSON: is-json, json-schema and json-path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptctl.evals.assertions.base import (
    AssertionContext,
    Check,
    InvalidSpec,
    all_options,
    option,
    quote,
    register,
)
from promptctl.evals.assertions.jsonpath import JsonPathError, compile_path
from promptctl.promptfile.fast_validate import regex_timeout_error
from promptctl.promptfile.model import AssertionSpec
from promptctl.promptfile.regex_safety import (
    PatternError,
    RegexTimeout,
    bounded_validator,
)
from promptctl.promptfile.schema_refs import ref_problem
from promptctl.promptfile.schemas import located

__all__ = ["schema_errors"]


# id(schema mapping) -> (the mapping, its validator or the schema error). Specs and prompts
# are immutable and live for the whole run, so each schema is checked and compiled once,
# not once per case (checking a schema against its meta-schema costs about 0.5 ms).
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any, str | None]] = {}


def _validator(schema_in: Mapping[str, Any]) -> Any:
    cached = _VALIDATORS.get(id(schema_in))
    if cached is None or cached[0] is not schema_in:
        import jsonschema  # heavy: imported only when a schema check runs

        schema = dict(schema_in)
        validator_cls = jsonschema.validators.validator_for(schema)
        try:
            validator_cls.check_schema(schema)
            refs = ref_problem(schema)  # a `$ref` to a URL, to nothing, or a loop
            if refs is None:
                cached = (schema_in, bounded_validator(schema, validator_cls), None)
            else:
                cached = (schema_in, None, located(*refs))
        except jsonschema.SchemaError as exc:
            cached = (schema_in, None, exc.message)
        _VALIDATORS[id(schema_in)] = cached
    if cached[2] is not None:
        raise InvalidSpec(f"invalid JSON Schema: {cached[2]}")
    return cached[1]


def schema_errors(schema_in: Mapping[str, Any], value: Any) -> str | None:
    """The first validation error as 'at $.path: message', or None when valid."""
    validator = _validator(schema_in)
    try:  # every `pattern` under the regex time limit: the value is the model's
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    except RegexTimeout as exc:
        return f"({regex_timeout_error(exc.seconds).message})"
    except PatternError as exc:
        raise InvalidSpec(f"invalid JSON Schema: a `pattern` does not compile: {exc}") from None
    if not errors:
        return None
    first = errors[0]
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"at {where}: {first.message}{more}"


@register("is-json")
def _is_json(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Valid JSON (one surrounding code fence tolerated); a mapping value is a schema."""
    parsed = ctx.json
    if not parsed.ok:
        return Check(False, f"output is not valid JSON: {parsed.error}")
    if isinstance(spec.value, Mapping):
        error = schema_errors(spec.value, parsed.value)
        if error:
            return Check(False, f"output is JSON but does not match the schema {error}")
    return Check(True, "output is valid JSON")


@register("json-schema")
def _json_schema(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Validate against `value` (or `schema:`), defaulting to the prompt's output schema."""
    schema = spec.value if isinstance(spec.value, Mapping) else option(spec, "schema")
    if schema is None and ctx.prompt is not None:
        schema = ctx.prompt.output.schema
    if not isinstance(schema, Mapping):
        raise InvalidSpec("json-schema needs a schema (value, or the prompt's output.schema)")
    parsed = ctx.json
    if not parsed.ok:
        return Check(False, f"output is not valid JSON: {parsed.error}")
    error = schema_errors(schema, parsed.value)
    if error:
        return Check(False, f"output does not match the schema {error}")
    return Check(True, "output matches the schema")


@register("json-path")
def _json_path(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """`path` plus one of `equals`, `contains`, `matches` (regex); alone: the path exists.

    A definite path (no wildcard) compares its single value; a wildcard path compares the
    list of every match.
    """
    raw_path = option(spec, "path", spec.value if isinstance(spec.value, str) else None)
    if not isinstance(raw_path, str):
        raise InvalidSpec("json-path needs a path, e.g. {type: json-path, path: $.category}")
    try:
        path = compile_path(raw_path)
    except JsonPathError as exc:
        raise InvalidSpec(str(exc)) from exc
    parsed = ctx.json
    if not parsed.ok:
        return Check(False, f"output is not valid JSON: {parsed.error}")
    matches = path.find(parsed.value)
    if not matches:
        return Check(False, f"nothing at {path.text}")
    got: Any = matches[0] if path.definite else matches
    opts = all_options(spec)
    if "equals" in opts:
        want = opts["equals"]
        ok = got == want
        if ok:
            return Check(True, f"{path.text} is {quote(want)}")
        return Check(False, f"expected {quote(want)} at {path.text}, got {quote(got)}")
    if "contains" in opts:
        want = opts["contains"]
        if isinstance(got, str):
            ok = isinstance(want, str) and want in got
        else:
            ok = isinstance(got, list | dict) and want in got
        verb = "contains" if ok else "does not contain"
        return Check(ok, f"{path.text} ({quote(got)}) {verb} {quote(want)}")
    if "matches" in opts:
        pattern = str(opts["matches"])
        try:
            ok = re.search(pattern, got if isinstance(got, str) else quote(got, 10**6)) is not None
        except re.error as exc:
            raise InvalidSpec(f"bad regex {quote(pattern)}: {exc}") from exc
        verb = "matches" if ok else "does not match"
        return Check(ok, f"{path.text} ({quote(got)}) {verb} /{pattern}/")
    return Check(True, f"{path.text} exists ({quote(got)})")
