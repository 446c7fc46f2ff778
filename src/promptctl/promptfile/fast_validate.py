"""A fast "is it valid?" for the JSON Schemas answers are checked against.

`jsonschema` walks a schema through generic machinery (a validator object per level,
error objects as generators): about 300 µs for a 1 KB tool-call argument object, far
more than the call's own parsing. `compile_schema` turns the common subset of JSON
Schema (draft 2020-12: type, enum, const, properties, required, additionalProperties,
propertyNames, items, anyOf, allOf, if/then/else, the numeric, length, pattern, item-count
and property-count bounds, uniqueItems of strings; annotations such as description,
title, default, format) into the source of one Python function
that only answers valid or not (as fastjsonschema does; closures per keyword cost a
call each and were ten times slower); any other keyword makes it return None and
`jsonschema` is used alone. The generated source holds no value from the schema: names,
bounds and patterns are constants passed in, so a hostile schema cannot inject code.

Only the fast "valid" is ever trusted: on "invalid" the caller asks `jsonschema` for the
error (so the message is jsonschema's and a disagreement can only cost time, never
change a verdict). The closures follow jsonschema's semantics: `integer` accepts an
integral float, booleans are never numbers, `enum`/`const` do not equate `true` and `1`,
`pattern` is a search under the regex time limit (`regex_safety.compile_bounded`, as
the jsonschema validator's), and `format` is not asserted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from promptctl import _code_store
from promptctl.promptfile.regex_safety import (
    PatternError,
    RegexTimeout,
    bounded_validator,
    compile_bounded,
)
from promptctl.promptfile.schema_refs import ref_problem

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["Check", "compile_cached", "compile_schema", "first_error", "regex_timeout_error"]

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"description", "title", "default", "examples", "$comment", "format", "$schema",
     "deprecated", "readOnly", "writeOnly", "$id"}
)  # fmt: skip
_KNOWN = _ANNOTATIONS | {
    "type", "enum", "const", "properties", "required", "additionalProperties", "items",
    "anyOf", "allOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "minItems", "maxItems",
    # what promptctl's own prompt and config schemas use besides (issue 16)
    "minProperties", "maxProperties", "propertyNames", "if", "then", "else", "uniqueItems",
}  # fmt: skip


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_integer(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


class _Unsupported(Exception):
    pass


# id(schema) -> (schema, fast check or None, jsonschema validator): a prompt's schemas
# are immutable and checked on every call, so each is compiled once.
_CACHE: dict[int, tuple[Mapping[str, Any], Check | None, Draft202012Validator | str]] = {}


def first_error(schema: Mapping[str, Any], value: Any) -> ValidationError | None:
    """None when `value` matches `schema` (draft 2020-12), else jsonschema's first error.

    Every `pattern` runs under the regex time limit, in any thread: a model's answer
    must not hang a run or an application's request (a catastrophic pattern, lint
    PC110); past it, the value is invalid with an error saying so."""
    cached = _CACHE.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_CACHE) > 1024:
            _CACHE.clear()
        refs = ref_problem(schema)  # lint refuses these; a bundle built by hand may not
        checker = bounded_validator(schema) if refs is None else f"{refs[1]} (at {refs[0]})"
        cached = (schema, compile_schema(schema), checker)
        _CACHE[id(schema)] = cached
    if isinstance(cached[2], str):
        from jsonschema.exceptions import ValidationError

        return ValidationError(f"the schema cannot be used: {cached[2]}", validator="$ref")
    try:
        return _first_error(cached[1], cached[2], value)
    except RegexTimeout as exc:
        return regex_timeout_error(exc.seconds)
    except PatternError as exc:  # `re` took it at load (PC013), the bounded matcher not
        from jsonschema.exceptions import ValidationError

        return ValidationError(f"a `pattern` does not compile: {exc}", validator="pattern")


def _first_error(
    fast: Check | None, validator: Draft202012Validator, value: Any
) -> ValidationError | None:
    if fast is not None and fast(value):
        return None
    return next(iter(validator.iter_errors(value)), None)


def regex_timeout_error(seconds: float) -> ValidationError:
    """The error for a value whose `pattern` check ran past the time limit."""
    from jsonschema.exceptions import ValidationError

    return ValidationError(
        f"a `pattern` ran longer than {seconds:g}s (catastrophic backtracking; see lint PC110)",
        validator="pattern",
    )


_BY_TEXT: dict[str, Check | None] = {}


def compile_cached(schema: Any) -> Check | None:
    """`compile_schema`, memoised by the schema's JSON text: each prompt file has its own
    (usually identical) input schemas, and compiling one costs ~0.5 ms."""
    try:
        text = json.dumps(schema, sort_keys=True, allow_nan=False)
        # JSON text is a faithful key only if it reads back as the schema: `{1: ...}`
        # dumps as `{"1": ...}`, and sharing a check between the two (YAML gives int
        # keys) let one prompt's schema decide another's verdicts
        faithful = json.loads(text) == schema
    except (TypeError, ValueError, RecursionError):
        faithful = False
    if not faithful:
        return compile_schema(schema)
    if text not in _BY_TEXT:
        if len(_BY_TEXT) > 1024:
            _BY_TEXT.clear()
        _BY_TEXT[text] = compile_schema(schema)
    return _BY_TEXT[text]


def compile_schema(schema: Any, *, trusted: bool = False) -> Check | None:
    """A validity check for `schema`, or None when it uses what this module does not.

    `trusted`: promptctl's own schemas (a prompt file's shape), whose patterns are ours:
    matched with `re`, without the time limit a prompt file's patterns get."""
    return _compile(schema, trusted=trusted)[0]


def _compile(schema: Any, *, trusted: bool = False) -> tuple[Check | None, bool]:
    """The check, and whether its "invalid" is exact too (not just its "valid")."""
    gen = _Gen(trusted=trusted)
    try:
        gen.node(schema, "v", 1)
    except (_Unsupported, RecursionError):
        return None, False
    source = "def check(v):\n" + "\n".join(gen.lines) + "\n    return True\n"
    namespace: dict[str, Any] = dict(gen.consts)
    try:
        if trusted:  # promptctl's own schema: the same source every run, compiled once
            code = _code_store.compiled(__name__, source, "<promptctl schema>")
        else:
            code = compile(source, "<promptctl schema>", "exec")
    except (SyntaxError, RecursionError, MemoryError):  # nested past Python's block limit
        return None, False
    exec(code, namespace)
    check: Check = namespace["check"]
    return check, gen.exact


_TYPE_TESTS = {
    "string": "isinstance({x}, str)",
    "object": "isinstance({x}, dict)",
    "array": "isinstance({x}, list)",
    "boolean": "isinstance({x}, bool)",
    "null": "{x} is None",
    "number": "(isinstance({x}, (int, float)) and not isinstance({x}, bool))",
    "integer": (
        "((isinstance({x}, int) and not isinstance({x}, bool))"
        " or (isinstance({x}, float) and {x}.is_integer()))"
    ),
}
_BOUNDS = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=", "exclusiveMaximum": ">="}


class _Gen:
    """Emits the statements of `check`: each `return False` on a violation."""

    def __init__(self, *, trusted: bool = False) -> None:
        self.trusted = trusted
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.count = 0
        # False once a keyword may answer "invalid" for a valid value (uniqueItems of
        # non-strings): harmless at the top, wrong verdicts inside an `if`
        self.exact = True

    def const(self, value: Any) -> str:
        name = f"c{len(self.consts)}"
        self.consts[name] = value
        return name

    def var(self) -> str:
        self.count += 1
        return f"x{self.count}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def node(self, schema: Any, x: str, d: int) -> None:
        if schema is True:
            return
        if schema is False:
            self.emit(d, "return False")
            return
        if not isinstance(schema, Mapping) or not set(schema) <= _KNOWN:
            raise _Unsupported
        kind = schema.get("type")
        if kind is not None:
            names = [kind] if isinstance(kind, str) else kind
            if not isinstance(names, list) or not all(n in _TYPE_TESTS for n in names):
                raise _Unsupported
            test = " or ".join(_TYPE_TESTS[n].format(x=x) for n in names)
            self.emit(d, f"if not ({test}): return False")
        for key in ("enum", "const"):
            if key in schema:
                values = schema["enum"] if key == "enum" else [schema["const"]]
                if not isinstance(values, list):
                    raise _Unsupported
                options = self.const(tuple(_scalar_equal(o) for o in values))
                self.emit(d, f"if not any(o({x}) for o in {options}): return False")
        self.object(schema, x, d)
        self.array(schema, x, d)
        self.string(schema, x, d)
        self.number(schema, x, d)
        if "anyOf" in schema:
            compiled = [_compile(s, trusted=self.trusted) for s in schema["anyOf"]]
            subs = [check for check, _ in compiled]
            if not subs or any(s is None for s in subs):
                raise _Unsupported
            self.exact = self.exact and all(exact for _, exact in compiled)
            self.emit(d, f"if not any(s({x}) for s in {self.const(tuple(subs))}): return False")
        for sub in schema.get("allOf") or ():
            self.node(sub, x, d)
        self.conditional(schema, x, d)

    def conditional(self, schema: Mapping[str, Any], x: str, d: int) -> None:
        """`if`/`then`/`else`: `if` compiled to its own check, the branches inline."""
        if "if" not in schema:
            return
        test, exact = _compile(schema["if"], trusted=self.trusted)
        if test is None or not exact:  # a wrong "invalid" here would pick the wrong branch
            raise _Unsupported
        self.emit(d, f"if {self.const(test)}({x}):")
        self.node(schema.get("then", True), x, d + 1)
        self.emit(d + 1, "pass")
        self.emit(d, "else:")
        self.node(schema.get("else", True), x, d + 1)
        self.emit(d + 1, "pass")

    def object(self, schema: Mapping[str, Any], x: str, d: int) -> None:
        required = schema.get("required")
        props = schema.get("properties")
        extra = schema.get("additionalProperties", True)
        names_schema = schema.get("propertyNames", True)
        sized = "minProperties" in schema or "maxProperties" in schema
        if not (required or props or extra is not True or names_schema is not True or sized):
            return
        if not isinstance(props or {}, Mapping) or not isinstance(required or [], list):
            raise _Unsupported
        self.emit(d, f"if isinstance({x}, dict):")
        self.sizes(schema, x, d + 1, "minProperties", "maxProperties")
        if names_schema is not True:
            k = self.var()
            self.emit(d + 1, f"for {k} in {x}:")
            self.node(names_schema, k, d + 2)
            self.emit(d + 2, "pass")
        if required:
            names = self.const(frozenset(required))
            self.emit(d + 1, f"if not {x}.keys() >= {names}: return False")
        known = self.const(frozenset(props or ()))
        for name, sub in (props or {}).items():
            if sub is True:
                continue
            y = self.var()
            key = self.const(name)
            self.emit(d + 1, f"if {key} in {x}:")
            self.emit(d + 2, f"{y} = {x}[{key}]")
            self.node(sub, y, d + 2)
        if extra is False:
            self.emit(d + 1, f"if not {x}.keys() <= {known}: return False")
        elif extra is not True:
            k, y = self.var(), self.var()
            self.emit(d + 1, f"for {k}, {y} in {x}.items():")
            self.emit(d + 2, f"if {k} not in {known}:")
            self.node(extra, y, d + 3)
            self.emit(d + 3, "pass")
        self.emit(d + 1, "pass")

    def array(self, schema: Mapping[str, Any], x: str, d: int) -> None:
        keys = [k for k in ("minItems", "maxItems", "items", "uniqueItems") if k in schema]
        if not keys:
            return
        self.emit(d, f"if isinstance({x}, list):")
        self.sizes(schema, x, d + 1, "minItems", "maxItems")
        if schema.get("uniqueItems") is True:
            self.exact = False
            self.emit(d + 1, f"if not {self.const(_distinct_strings)}({x}): return False")
        if "items" in schema:
            y = self.var()
            self.emit(d + 1, f"for {y} in {x}:")
            self.node(schema["items"], y, d + 2)
            self.emit(d + 2, "pass")
        self.emit(d + 1, "pass")

    def string(self, schema: Mapping[str, Any], x: str, d: int) -> None:
        if not any(k in schema for k in ("minLength", "maxLength", "pattern")):
            return
        self.emit(d, f"if isinstance({x}, str):")
        self.sizes(schema, x, d + 1, "minLength", "maxLength")
        if "pattern" in schema:
            try:
                search: Callable[[str], Any]
                if self.trusted:
                    search = re.compile(schema["pattern"]).search
                else:
                    search = compile_bounded(schema["pattern"])
            except (PatternError, re.error, TypeError):
                raise _Unsupported from None
            self.emit(d + 1, f"if {self.const(search)}({x}) is None: return False")
        self.emit(d + 1, "pass")

    def number(self, schema: Mapping[str, Any], x: str, d: int) -> None:
        bounds = [k for k in _BOUNDS if k in schema]
        if not bounds:
            return
        self.emit(d, f"if {_TYPE_TESTS['number'].format(x=x)}:")
        for key in bounds:
            if not _is_number(schema[key]):
                raise _Unsupported
            self.emit(d + 1, f"if {x} {_BOUNDS[key]} {self.const(schema[key])}: return False")

    def sizes(self, schema: Mapping[str, Any], x: str, d: int, low: str, high: str) -> None:
        for key, op in ((low, "<"), (high, ">")):
            if key in schema:
                if not _is_integer(schema[key]):
                    raise _Unsupported
                self.emit(d, f"if len({x}) {op} {self.const(int(schema[key]))}: return False")


def _distinct_strings(items: list[Any]) -> bool:
    """`uniqueItems`, answered "valid" only for distinct strings (tags, input names): any
    other list is left to jsonschema, whose equality (1 == 1.0, true != 1) is subtler."""
    return all(type(i) is str for i in items) and len(set(items)) == len(items)


def _scalar_equal(value: Any) -> Check:
    """Equality as jsonschema's: bool only equals bool; 1 equals 1.0."""
    if isinstance(value, list | dict):
        raise _Unsupported
    if isinstance(value, bool):
        return lambda v: v is value
    return lambda v: not isinstance(v, bool | list | dict) and v == value
