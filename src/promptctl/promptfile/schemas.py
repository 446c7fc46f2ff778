"""The shipped JSON Schemas and their errors mapped to file:line:column.

Validators are compiled once per process: lint validates thousands of files.
"""

from __future__ import annotations

import difflib
import json
import math
import pathlib
import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_args

from promptctl import _code_store
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.fast_validate import Check, compile_schema
from promptctl.promptfile.rules import finding
from promptctl.promptfile.schema_refs import ref_problem
from promptctl.promptfile.yaml_loader import LocatedYaml, pointer

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "SchemaName",
    "check_schema",
    "did_you_mean",
    "dotted",
    "inline_refs",
    "located",
    "provider_settings_problem",
    "schema",
    "schema_diagnostics",
    "schema_findings",
    "schema_problem",
    "schema_text",
    "secret_problem",
    "validator",
]

SchemaName = Literal["prompt", "config"]

CODE_SCHEMA = "PC003"
CODE_UNKNOWN_KEY = "PC004"


def schema_text(name: SchemaName) -> str:
    """The schema as shipped (what `promptctl schema` prints): read beside this module
    (every run reads one: `importlib.resources` and its readers cost ~2 ms to import),
    through `importlib.resources` where the package is not plain files (a zip)."""
    shipped = pathlib.Path(__file__).with_name("schema") / f"{name}.schema.json"
    try:
        return shipped.read_text(encoding="utf-8")
    except OSError:
        from importlib import resources

        files = resources.files("promptctl.promptfile")
        return (files / "schema" / f"{name}.schema.json").read_text(encoding="utf-8")


@cache
def schema(name: SchemaName) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_text(name))
    return data


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local `#/$defs/x` refs by their target: ref resolution dominates lint time."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [inline_refs(v, defs) for v in node]
    return node


@cache
def validator(name: SchemaName) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    full = schema(name)
    return Draft202012Validator(inline_refs(full, full.get("$defs", {})))


@cache
def _fast_check(name: SchemaName) -> Check | None:
    """The schema compiled to one function (`fast_validate`): its "valid" is trusted,
    anything else goes to jsonschema for the findings (loading 1,000 tests: 99 -> 60 ms).
    Its code is kept compiled (`_code_store`): ~7 ms less start-up for both schemas."""
    full = schema(name)
    return compile_schema(inline_refs(full, full.get("$defs", {})), trusted=True)


@_code_store.on_warm
def _warm_checks() -> None:
    """`make install` (`_code_store.warm`): both schemas' checks compiled into the store."""
    for name in get_args(SchemaName):
        _fast_check(name)


def secret_problem(error: ValidationError) -> tuple[str, str] | None:
    """What is wrong with a text that may be a secret, without quoting it: a key pasted
    into `api_key_env` (the name of its variable belongs there), a token in a header's
    value. None where the value may be shown. (What, then the hint.)"""
    if not isinstance(error.instance, str):
        return None
    path = [str(p) for p in error.absolute_path]
    if "api_key_env" in path:
        return (
            "is not the name of an environment variable (the value is not shown: it may be "
            "the key itself)",
            "write the variable's name, e.g. `api_key_env: OPENAI_API_KEY`, and keep the key "
            "in that variable; a key that was written into a committed file must be rotated",
        )
    if "headers" in path:
        sub = error.schema if isinstance(error.schema, dict) else {}
        expected = sub.get("description") or "a valid header"
        return (
            "is not valid (the value is not shown: a header may hold a credential)",
            f"expected {expected}",
        )
    return None


def provider_settings_problem(name: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the setting, what is wrong) when `values` break the rules of `providers:` in
    promptctl.yaml (its JSON Schema), else None: one rule for the config file, a
    deployment's overrides and a bundle's providers (a timeout past a day, a header
    with a line break, a count of the wrong type never reach the transport)."""
    doc = {"providers": {name: dict(values)}}
    fast = _fast_check("config")
    if fast is not None and fast(doc):
        return None
    for error in validator("config").iter_errors(doc):
        setting = ".".join(str(p) for p in list(error.absolute_path)[2:])
        secret = secret_problem(error)
        return setting or "(settings)", error.message if secret is None else secret[0]
    return None


_checked: dict[str, tuple[tuple[Any, ...], str] | None] = {}


def check_schema(candidate: Any) -> str | None:
    """None if `candidate` is a valid 2020-12 JSON Schema, else the reason ('where:
    what', cached); `schema_problem` gives the place as a path."""
    problem = schema_problem(candidate)
    return None if problem is None else located(*problem)


def schema_problem(candidate: Any) -> tuple[tuple[Any, ...], str] | None:
    """None if `candidate` is a valid 2020-12 JSON Schema whose `$ref`s resolve inside
    it without a loop (`schema_refs`), else (the path in the schema, the reason).

    A schema made only of the everyday keywords with plainly valid values (`_plain`) is
    accepted without jsonschema's metaschema check: a run whose inputs are
    `{type: string}` and the like then never imports jsonschema (~50 ms, ~8 MB)."""
    key = json.dumps(candidate, sort_keys=True, default=str)
    if key in _checked:
        return _checked[key]
    if _plain(candidate):
        _checked[key] = None
        return None
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(candidate)
        _checked[key] = ref_problem(candidate)
    except SchemaError as exc:
        _checked[key] = tuple(exc.absolute_path), exc.message
    return _checked[key]


def located(path: tuple[Any, ...], message: str) -> str:
    """'where: message' (or the message alone at the schema's root)."""
    where = dotted(path)
    return f"{where}: {message}" if where else message


_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_COUNTS = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}
)
_NUMBERS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_TEXTS = frozenset({"title", "description", "format", "$comment"})
_FLAGS = frozenset({"uniqueItems", "deprecated", "readOnly", "writeOnly"})
_SCHEMAS = frozenset({"items", "additionalProperties", "propertyNames"})
_ANY = frozenset({"default", "const"})


def _plain(schema: Any, depth: int = 0) -> bool:
    """Whether `schema` is a valid 2020-12 schema by the metaschema's own rules, for a
    subset of keywords only: True is certain, False means "ask jsonschema" (any other
    keyword, an integral float where an integer goes, deep nesting)."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or depth > 32:
        return False
    for key, value in schema.items():
        if key in _COUNTS:
            ok = type(value) is int and value >= 0
        elif key in _NUMBERS:
            ok = type(value) is int or (type(value) is float and math.isfinite(value))
        elif key in _TEXTS:
            ok = isinstance(value, str)
        elif key in _FLAGS:
            ok = isinstance(value, bool)
        elif key in _ANY:
            ok = True
        elif key in _SCHEMAS:
            ok = _plain(value, depth + 1)
        elif key == "type":
            names = [value] if isinstance(value, str) else value
            ok = (
                isinstance(names, list)
                and bool(names)
                and all(isinstance(n, str) and n in _TYPES for n in names)
                and len(set(names)) == len(names)
            )
        elif key in ("enum", "examples"):
            ok = isinstance(value, list)
        elif key == "required":
            ok = (
                isinstance(value, list)
                and all(isinstance(n, str) for n in value)
                and len(set(value)) == len(value)
            )
        elif key == "properties":
            ok = isinstance(value, dict) and all(
                isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items()
            )
        elif key == "pattern":
            ok = isinstance(value, str) and _compiles(value)
        else:
            ok = False
        if not ok:
            return False
    return True


def _compiles(pattern: str) -> bool:
    """jsonschema checks the `regex` format of `pattern` with `re.compile` too."""
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def did_you_mean(word: str, choices: Any) -> str | None:
    """A difflib suggestion for a misspelt name, or None."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return match[0] if match else None


def dotted(parts: list[Any] | tuple[Any, ...]) -> str:
    """``["tests", 0, "vars"]`` -> ``tests[0].vars``, the way users read a path."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def schema_diagnostics(
    doc: LocatedYaml, name: SchemaName, *, skip: frozenset[str] = frozenset()
) -> list[Diagnostic]:
    """Every schema violation of `doc`, one diagnostic each, sorted by line.

    `skip` holds pointers whose errors the caller reports better itself.
    """
    return [d for _, d in schema_findings(doc, name, skip=skip)]


Path = tuple[str | int, ...]


def schema_findings(
    doc: LocatedYaml, name: SchemaName, *, skip: frozenset[str] = frozenset()
) -> list[tuple[Path, Diagnostic]]:
    """Like `schema_diagnostics`, each with the path of the offending value.

    For an unknown key the path ends in that key, so a caller can drop just it.
    """
    fast = _fast_check(name)
    if fast is not None and fast(doc.data):
        return []
    out: list[tuple[Path, Diagnostic]] = []
    for error in validator(name).iter_errors(doc.data):
        ptr = pointer(list(error.absolute_path))
        if ptr in skip:
            continue
        out.extend(_diagnose(doc, error, ptr))
    out.sort(key=lambda f: (f[1].location.line or 0) if f[1].location else 0)
    return out


def _diagnose(doc: LocatedYaml, error: ValidationError, ptr: str) -> list[tuple[Path, Diagnostic]]:
    path: Path = tuple(error.absolute_path)
    return [(p or path, d) for p, d in _diagnose_one(doc, error, ptr)]


_MESSAGE_KEYS = frozenset({"system", "user", "assistant", "history", "max_tokens", "max_messages"})


def _message_entry(sub: Any, instance: Any) -> bool:
    """A `messages:` entry (its schema, or an if/then/else branch of it)."""
    if "system" in sub.get("properties", {}):
        return True
    return isinstance(instance, dict) and bool(instance) and set(instance) <= _MESSAGE_KEYS


def _diagnose_one(
    doc: LocatedYaml, error: ValidationError, ptr: str
) -> list[tuple[Path | None, Diagnostic]]:
    where = dotted(list(error.absolute_path)) or "top level"
    loc = doc.locate(ptr)
    secret = secret_problem(error)
    if secret is not None:
        return [(None, finding(CODE_SCHEMA, f"{where}: {secret[0]}", loc, secret[1]))]
    kind = error.validator
    sub = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(sub.get("properties", {}))
        diags: list[tuple[Path | None, Diagnostic]] = []
        for key in instance:
            if key in allowed:
                continue
            guess = did_you_mean(key, allowed)
            hint = f"did you mean '{guess}'?" if guess else f"allowed keys: {', '.join(allowed)}"
            place = f" in {where}" if error.absolute_path else ""
            diags.append(
                (
                    (*error.absolute_path, str(key)),
                    finding(
                        CODE_UNKNOWN_KEY,
                        f"unknown key '{key}'{place}",
                        doc.locate(pointer([*error.absolute_path, str(key)]), key=True),
                        hint,
                    ),
                )
            )
        return diags
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        msg = f"{where}: missing required key '{missing}'"
        return [((*error.absolute_path, missing), finding(CODE_SCHEMA, msg, loc))]
    if kind in {"minProperties", "maxProperties"} and _message_entry(sub, instance):
        msg = f"{where}: a message needs exactly one of system, user, assistant, history"
        return [(None, finding(CODE_SCHEMA, msg, loc))]
    if kind == "type":
        expected = error.validator_value
        exp = " or ".join(expected) if isinstance(expected, list) else str(expected)
        got = _json_type(error.instance)
        fix = _type_hint(where, error.instance)
        msg = f"{where}: expected {exp}, got {got}"
        return [(None, finding(CODE_SCHEMA, msg, loc, fix))]
    if kind == "enum":
        allowed_values: Any = error.validator_value
        choices = ", ".join(str(c) for c in allowed_values)
        msg = f"{where}: {error.instance!r} is not one of: {choices}"
        close = did_you_mean(instance, allowed_values) if isinstance(instance, str) else None
        suggestion = f"did you mean '{close}'?" if close else None
        return [(None, finding(CODE_SCHEMA, msg, loc, suggestion))]
    if kind == "pattern" and "description" in sub:
        msg = f"{where}: {error.instance!r} is not valid"
        return [(None, finding(CODE_SCHEMA, msg, loc, f"expected {sub['description']}"))]
    if kind == "minItems" and where == "messages":
        hint = 'add at least one, e.g. `- user: "{{ question }}"`'
        msg = f"{where}: the list is empty"
        return [(None, finding(CODE_SCHEMA, msg, loc, hint))]
    return [(None, finding(CODE_SCHEMA, f"{where}: {error.message}", loc))]


_TYPE_HINTS = {
    "messages": 'a list of one-key entries: `- system: ...`, `- user: "{{ question }}"`',
    "tests": "a list: `- name: ...` with `vars:` and `assert:`",
    "inputs": "a mapping of name -> JSON Schema, e.g. `ticket: {type: string}`",
    "tags": "a list, e.g. `tags: [support]`",
    "model": "a mapping, e.g. `model: {use: openai/gpt-4o-mini}`",
    "model.params": "a mapping, e.g. `params: {temperature: 0, max_tokens: 300}`",
    "model.fallbacks": "a list, e.g. `fallbacks: [anthropic/claude-3-5-haiku-latest]`",
    "model.routes": "a list of `- {when: \"tier == 'pro'\", use: openai/gpt-4o}`",
    "tests[].assert": "a list, e.g. `assert: [is-json, {contains: refund}]`",
    "tests[].vars": "a mapping of input name -> value, e.g. `vars: {ticket: hi}`",
}


_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})


def _type_hint(where: str, value: Any) -> str | None:
    if value is None:
        return "give it a value or remove the key"
    name = where.removeprefix("inputs.")
    if name != where and "." not in name:
        if isinstance(value, str) and value in _JSON_TYPES:
            return f"an input is a JSON Schema: write `{name}: {{type: {value}}}`"
        return f"an input is a JSON Schema, e.g. `{name}: {{type: string}}`"
    return _TYPE_HINTS.get(re.sub(r"\[\d+\]", "[]", where))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
