"""The compiled validity check agrees with jsonschema (draft 2020-12), value by value."""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from promptctl.promptfile.fast_validate import compile_schema, first_error

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object"},
    {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^a"},
    {"type": ["integer", "null"], "minimum": 0, "exclusiveMaximum": 10},
    {"type": "number", "maximum": 2.5, "exclusiveMinimum": -1},
    {"enum": ["a", 1, True, None, 2.0]},
    {"const": 0},
    {"const": False},
    {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "boolean"}},
    {
        "type": "object",
        "required": ["a", "b"],
        "additionalProperties": False,
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "object", "properties": {"c": {"type": "integer"}}},
        },
    },
    {"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
    {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3}]},
    {"allOf": [{"required": ["a"]}, {"properties": {"a": {"const": 1}}}]},
    {"items": {"enum": [1, 2]}, "description": "no type", "format": "email", "default": []},
    {"properties": {"a": False, "b": True}},
    {"type": "object", "minProperties": 1, "maxProperties": 2},
    {"propertyNames": {"pattern": "^[ab]$"}},
    {"if": {"required": ["a"]}, "then": {"maxProperties": 1}, "else": {"required": ["b"]}},
    {"if": {"type": "string"}, "then": {"minLength": 2}},
    True,
    False,
]
VALUES: list[Any] = [
    None, True, False, 0, 1, 1.0, 2.0, 2.5, 3, 9, 10, -1, -0.5, 11.5, "", "a", "ab", "abcd",
    "abcde", "ba", [], [True], [True, False, True, False], [1], [1, 2], [3], {}, {"a": "x"},
    {"a": "x", "b": {}}, {"a": "x", "b": {"c": 1}}, {"a": "x", "b": {"c": 1.5}},
    {"a": "x", "b": {}, "z": 1}, {"a": 1}, {"a": 1, "z": 2}, {"a": "s", "z": "t"}, {"b": 1},
    {"a": True},
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
def test_agrees_with_jsonschema_on_every_value(schema: Any) -> None:
    check = compile_schema(schema)
    assert check is not None
    reference = Draft202012Validator(schema)
    wrong = [v for v in VALUES if check(v) != reference.is_valid(v)]
    assert wrong == []


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 3 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, 1, 2, 3, -4, 7, 2.0, 0.5, 1e3])
    if pick in (3, 4, 5):
        return rng.choice(["", "a", "abc", "A-123456", "A-12345", "x" * 9])
    if pick in (6, 7):
        return {rng.choice("abcz"): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_agrees_on_random_values_against_a_nested_schema() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "additionalProperties": False,
        "properties": {
            "a": {"type": ["string", "null"], "pattern": "^A-[0-9]{6}$"},
            "b": {"type": "array", "maxItems": 2, "items": {"type": ["integer", "boolean"]}},
            "c": {"anyOf": [{"type": "object", "required": ["a"]}, {"enum": [0, "abc"]}]},
            "z": {"type": "number", "minimum": 0, "maximum": 3},
        },
    }
    check = compile_schema(schema)
    assert check is not None
    reference = Draft202012Validator(schema)
    rng = random.Random(12)
    values = [_random_value(rng) for _ in range(3000)]
    pairs = enumerate(itertools.pairwise(values))
    values += [{"a": v, **({"b": w} if i % 2 else {})} for i, (v, w) in pairs]
    assert sum(check(v) for v in values) > 50  # some valid values are in the mix
    assert [v for v in values if check(v) != reference.is_valid(v)] == []


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/x", "$defs": {"x": {}}},
        {"oneOf": [{}]},
        {"patternProperties": {"a": {}}},
        {"prefixItems": [{}]},
        {"dependentRequired": {"a": ["b"]}},
        {"if": {"oneOf": [{}]}, "then": {}},
        {"enum": [[1]]},
        {"type": "strng"},
        {"minimum": "1"},
        {"pattern": "("},
    ],
)
def test_what_it_does_not_know_is_left_to_jsonschema(schema: Any) -> None:
    assert compile_schema(schema) is None


def test_no_code_from_the_schema_runs() -> None:
    hostile = {"properties": {"'): import os #": {"const": "__import__('os')"}}}
    check = compile_schema(hostile)
    assert check is not None
    assert check({"'): import os #": "__import__('os')"}) and not check({"'): import os #": 1})


def test_deep_schemas_compile_or_fall_back() -> None:
    deep: dict[str, Any] = {"type": "integer"}
    value: Any = 1
    for _ in range(40):
        deep, value = {"type": "object", "properties": {"a": deep}}, {"a": value}
    check = compile_schema(deep)
    assert check is not None and check(value)
    # loops nest past Python's limit of 20 blocks: jsonschema alone, same answers
    arrays: dict[str, Any] = {"type": "integer"}
    nested: Any = 1
    for _ in range(25):
        arrays, nested = {"type": "array", "items": arrays}, [nested]
    assert compile_schema(arrays) is None
    assert first_error(arrays, nested) is None
    assert first_error(arrays, [[["x"]]]) is not None


def test_first_error_is_jsonschemas() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    error = first_error(schema, {"n": 0})
    assert error is not None and list(error.absolute_path) == ["n"]
    assert error.message == "0 is less than the minimum of 1"
    assert first_error(schema, {"n": 2}) is None


def test_unique_items_is_fast_only_for_distinct_strings() -> None:
    """`uniqueItems`: "valid" only for lists of distinct strings; every other list is
    left to jsonschema (its equality: 1 == 1.0, true != 1), never wrongly passed."""
    schema = {"type": "array", "uniqueItems": True}
    check = compile_schema(schema)
    assert check is not None
    reference = Draft202012Validator(schema)
    assert check(["a", "b"]) and check([])
    for value in (["a", "a"], [1, 1.0], [1, True], [[1], [1]], [{"a": 1}, {"a": 1}], [1, 2]):
        assert not check(value)  # not known valid: jsonschema decides (first_error)
        assert (first_error(schema, value) is None) == reference.is_valid(value)


@pytest.mark.parametrize("name", ["prompt", "config"])
def test_promptctls_own_schemas_compile_and_agree(name: str) -> None:
    """The prompt and config schemas (refs inlined) compile; on every prompt file and
    config of the repository, and on broken variants, the fast check agrees."""
    from pathlib import Path

    import yaml

    from promptctl.promptfile.schemas import inline_refs, schema

    full = schema(name)  # type: ignore[arg-type]
    inlined = inline_refs(full, full.get("$defs", {}))
    check = compile_schema(inlined)
    assert check is not None
    reference = Draft202012Validator(inlined)
    root = Path(__file__).resolve().parents[2]
    files = (
        sorted(root.glob("prompts/**/*.yaml")) + sorted(root.glob("examples/**/prompts/**/*.yaml"))
        if name == "prompt"
        else sorted(root.glob("**/promptctl.yaml"))
    )
    docs = [yaml.safe_load(f.read_text()) for f in files if ".venv" not in f.parts]
    docs = [d for d in docs if isinstance(d, dict)]
    assert docs
    broken = [
        {**d, key: value}
        for d in docs
        for key, value in (
            ("version", 1),
            ("nonsense", True),
            ("messages", [{}]),
            ("tags", ["a", "a"]),
        )
    ]
    values = docs + broken
    assert sum(map(check, docs)) >= len(docs) // 2  # real files take the fast path
    assert [v for v in values if check(v) != reference.is_valid(v)] == []


def test_compile_cached_reuses_a_check_for_an_equal_schema() -> None:
    from promptctl.promptfile.fast_validate import compile_cached

    one = compile_cached({"type": "object", "properties": {"q": {"type": "string"}}})
    same = compile_cached({"properties": {"q": {"type": "string"}}, "type": "object"})
    other = compile_cached({"type": "object", "properties": {"q": {"type": "integer"}}})
    assert one is not None and one is same and other is not one
    assert one({"q": "x"}) and not one({"q": 1}) and other({"q": 1})


def test_compile_cached_does_not_share_a_check_between_int_and_string_keys() -> None:
    """`{1: ...}` (a YAML int key) and `{"1": ...}` dump to the same JSON text: one
    prompt's schema must not hand its check to another's and turn "invalid" into "valid"."""
    from promptctl.promptfile.fast_validate import compile_cached

    poison = {"type": "object", "properties": {1: {"type": "integer"}}}
    victim = {"type": "object", "properties": {"1": {"type": "integer"}}}
    assert compile_cached(poison) is not None
    check = compile_cached(victim)
    assert check is not None
    assert not Draft202012Validator(victim).is_valid({"1": "not an integer"})
    assert check({"1": "not an integer"}) is False
    assert check({"1": 3}) is True


@pytest.mark.parametrize(
    "schema",
    [
        {"if": {"uniqueItems": True}, "then": {"minItems": 5}},
        {"if": {"anyOf": [{"uniqueItems": True}]}, "then": {"minItems": 5}},
        {"if": {"items": {"if": {"uniqueItems": True}}}, "then": False},
    ],
)
def test_an_inexact_if_never_turns_invalid_into_valid(schema: Any) -> None:
    """uniqueItems answers "invalid" for distinct non-strings (jsonschema decides); inside
    an `if`, that "invalid" picked the `else` branch and skipped `then`: [1] passed."""
    check = compile_schema(schema)
    for value in ([1], [[1]], [1, 2.5], ["a"]):
        if not Draft202012Validator(schema).is_valid(value):
            assert check is None or check(value) is False, value


def test_a_seeded_differential_fuzz_over_odd_schemas_never_says_valid_wrongly() -> None:
    """Random schemas of every supported keyword with hostile bounds and values (NaN, inf,
    2**63, bools for numbers, int property names, nested if/anyOf): a fast "valid" is
    trusted, so it must never disagree with jsonschema's "invalid"."""
    rng = random.Random(20261205)
    nums: list[Any] = [0, 1, -1, 1.0, 2.5, 10**30, float("inf"), float("nan"), True, 2**63]
    strs = ["", "a", "ab", "1", "é", "\u202e", "a\nb", "𝔘", "__class__", "'\""]

    def value(d: int = 0) -> Any:
        c = rng.randrange(7 if d < 3 else 4)
        if c == 0:
            return rng.choice(nums)
        if c == 1:
            return rng.choice(strs)
        if c == 2:
            return rng.choice([None, True, False])
        if c == 3:
            return rng.choice([1, 0, 1.0, 0.0])
        if c == 4:
            return [value(d + 1) for _ in range(rng.randrange(4))]
        return {rng.choice(strs): value(d + 1) for _ in range(rng.randrange(4))}

    def schema(d: int = 0) -> Any:
        if d > 3 or rng.random() < 0.15:
            return rng.choice([True, False, {}])
        out: dict[str, Any] = {}
        for _ in range(rng.randrange(1, 4)):
            k = rng.choice(
                ["type", "enum", "const", "properties", "required", "additionalProperties",
                 "items", "anyOf", "allOf", "minimum", "exclusiveMaximum", "minLength",
                 "pattern", "minItems", "maxProperties", "propertyNames", "if", "then",
                 "else", "uniqueItems"]
            )  # fmt: skip
            if k == "type":
                out[k] = rng.choice(["string", "integer", "object", "array", ["number", "null"]])
            elif k == "enum":
                out[k] = [value(2) for _ in range(rng.randrange(1, 4))]
            elif k == "const":
                out[k] = value(2)
            elif k == "properties":
                out[k] = {rng.choice([*strs, 1]): schema(d + 1) for _ in range(rng.randrange(3))}
            elif k == "required":
                out[k] = sorted({rng.choice(strs) for _ in range(rng.randrange(3))})
            elif k in ("additionalProperties", "items", "propertyNames", "if", "then", "else"):
                out[k] = schema(d + 1)
            elif k in ("anyOf", "allOf"):
                out[k] = [schema(d + 1) for _ in range(rng.randrange(1, 3))]
            elif k in ("minimum", "exclusiveMaximum"):
                out[k] = rng.choice(nums)
            elif k == "pattern":
                out[k] = rng.choice(["^a", "é$", "\\d", "^$", "[^a]", "(?i)A", "\\Z"])
            elif k == "uniqueItems":
                out[k] = rng.choice([True, False])
            else:
                out[k] = rng.choice([0, 1, 2, 1.0, 10**20])
        return out

    wrong = []
    for _ in range(3000):
        s = schema()
        check = compile_schema(s)
        if check is None:
            continue
        reference = Draft202012Validator(s)
        for _ in range(10):
            v = value()
            if check(v) and not reference.is_valid(v):
                wrong.append((s, v))
    assert wrong == []


@pytest.mark.parametrize("where", ["main thread", "another thread"])
def test_a_catastrophic_pattern_is_stopped_and_the_value_is_invalid(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema `pattern` from a pull request, a value from the model (an answer, a tool
    call's arguments) or an application's user: `^(a|aa)+$` over 40 `a`s and a `!`
    backtracks for minutes; the check is stopped at the regex time limit, in any thread
    (the runtime validates in the application's), and says why."""
    from promptctl.promptfile import regex_safety
    from promptctl.providers.tool_calls import schema_error

    monkeypatch.setattr(regex_safety, "REGEX_TIMEOUT_S", 0.05)  # 1 s in use
    schema = {"type": "object", "properties": {"q": {"type": "string", "pattern": "^(a|aa)+$"}}}
    errors: list[str | None] = []

    def check() -> None:
        errors.append(schema_error(schema, {"q": "a" * 40 + "!"}))

    started = time.monotonic()
    if where == "main thread":
        check()
    else:
        worker = threading.Thread(target=check)
        worker.start()
        worker.join(20)
    error = errors[0] if errors else None
    assert error is not None and "ran longer than 0.05s" in error and "PC110" in error
    assert time.monotonic() - started < 3
    assert schema_error(schema, {"q": "aaa"}) is None  # a matching value still passes


def test_plainly_valid_schemas_are_valid_for_jsonschema_too() -> None:
    """`check_schema` skips jsonschema's metaschema check for plainly valid schemas:
    each one it accepts must be valid, and invalid ones must reach jsonschema."""
    import math

    from jsonschema.exceptions import SchemaError

    from promptctl.promptfile.schemas import _plain, check_schema

    good: list[Any] = [
        True,
        {},
        {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[a-z]+$"},
        {"type": ["string", "null"], "enum": ["a", None], "default": "a", "description": "d"},
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
        {"type": "array", "items": {"type": "number", "minimum": 0.5}, "uniqueItems": True},
        {"additionalProperties": False, "propertyNames": {"pattern": "^x"}, "format": "email"},
    ]
    bad: list[Any] = [
        {"type": "strng"},
        {"type": ["string", "string"]},
        {"type": []},
        {"minLength": -1},
        {"minLength": True},
        {"required": ["a", "a"]},
        {"required": [1]},
        {"pattern": "("},
        {"properties": {"a": 5}},
        {"items": [{}]},
        {"enum": "a"},
        {"uniqueItems": "yes"},
        {"description": 3},
        {"maximum": "9"},
        5,
    ]
    unsure: list[Any] = [
        {"minLength": 2.0},
        {"maximum": math.inf},
        {"$ref": "#/x"},
        {"oneOf": [{}]},
    ]
    for schema in good:
        assert _plain(schema), schema
        Draft202012Validator.check_schema(schema)
        assert check_schema(schema) is None
    for schema in bad:
        assert not _plain(schema), schema
        with pytest.raises(SchemaError):
            Draft202012Validator.check_schema(schema)
        assert check_schema(schema) is not None
    for schema in unsure:  # not plainly valid: jsonschema decides
        assert not _plain(schema), schema


def test_a_pattern_the_bounded_matcher_cannot_compile_is_an_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Patterns are checked with `re` when the file loads and matched with `regex`: one
    the second refuses (none known) makes the value invalid with a message."""
    from promptctl.promptfile import fast_validate, regex_safety

    def refuse(pattern: str, flags: int = 0) -> Any:
        raise regex_safety.PatternError(f"cannot compile {pattern!r}")

    monkeypatch.setattr(fast_validate, "compile_bounded", refuse)
    monkeypatch.setattr(regex_safety, "compile_bounded", refuse)
    schema = {"type": "object", "properties": {"q": {"type": "string", "pattern": "^b+$"}}}
    error = fast_validate.first_error(schema, {"q": "bbb"})
    assert (
        error is not None and error.message == "a `pattern` does not compile: cannot compile '^b+$'"
    )
