"""is-json, json-schema, json-path and the JSONPath subset."""

from __future__ import annotations

import time
from typing import Any

import pytest
from evalcore_builders import ctx, make_prompt, spec

from promptctl.evals.assertions import JsonPathError, compile_path, run_assertion

DOC = {"category": "bug", "items": [{"sku": "a1", "qty": 2}, {"sku": "b2", "qty": 1}], "a.b": 7}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", [DOC]),
        ("$.category", ["bug"]),
        ("$.items[0].sku", ["a1"]),
        ("$.items[-1].qty", [1]),
        ("$['a.b']", [7]),
        ('$["category"]', ["bug"]),
        ("$.items[*].sku", ["a1", "b2"]),
        ("$.items[0].*", ["a1", 2]),
        ("$.missing", []),
        ("$.items[5]", []),
        ("$.category[0]", []),
    ],
)
def test_jsonpath_subset(path: str, expected: list[Any]) -> None:
    assert compile_path(path).find(DOC) == expected


@pytest.mark.parametrize("bad", ["category", "$..category", "$.items[?(@.qty)]", "$.items[0:1]"])
def test_jsonpath_rejects_unsupported(bad: str) -> None:
    with pytest.raises(JsonPathError):
        compile_path(bad)


def test_jsonpath_definite() -> None:
    assert compile_path("$.a[0]").definite
    assert not compile_path("$.a[*].b").definite


def test_is_json_tolerates_one_code_fence_only() -> None:
    assert run_assertion(spec("is-json"), ctx('```json\n{"a": 1}\n```')).passed
    bad = run_assertion(spec("is-json"), ctx("Sure! {'a': 1}"))
    assert not bad.passed and bad.reason.startswith("output is not valid JSON")
    assert run_assertion(spec("not-is-json"), ctx("plain words")).passed


def test_is_json_with_schema_value() -> None:
    schema = {"type": "object", "required": ["a"]}
    assert run_assertion(spec("is-json", schema), ctx('{"a": 1}')).passed
    assert not run_assertion(spec("is-json", schema), ctx('{"b": 1}')).passed


def test_json_schema_defaults_to_prompt_output_schema() -> None:
    schema = {
        "type": "object",
        "required": ["category"],
        "properties": {"category": {"enum": ["billing", "bug", "other"]}},
    }
    prompt = make_prompt(schema=schema)
    good = run_assertion(spec("json-schema"), ctx('{"category": "bug"}', prompt=prompt))
    assert good.passed
    bad = run_assertion(spec("json-schema"), ctx('{"category": "sales"}', prompt=prompt))
    assert not bad.passed
    assert bad.reason.startswith("output does not match the schema at $.category:")
    explicit = run_assertion(spec("json-schema", {"type": "array"}), ctx("[1]", prompt=prompt))
    assert explicit.passed


def test_a_schema_pattern_that_backtracks_on_the_output_fails_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The schema is the pull request's, the output the model's: a `pattern` that would
    backtrack for minutes fails the check at the time limit (it had none here)."""
    from promptctl.promptfile import regex_safety

    monkeypatch.setattr(regex_safety, "REGEX_TIMEOUT_S", 0.05)
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a|aa)+$"}}}
    output = '{"a": "' + "a" * 60 + '!"}'
    started = time.monotonic()
    check = run_assertion(spec("json-schema", schema), ctx(output))
    assert time.monotonic() - started < 3
    assert not check.passed and "ran longer than 0.05s" in check.reason
    assert run_assertion(spec("json-schema", schema), ctx('{"a": "aaa"}')).passed


def test_json_schema_without_any_schema_or_invalid_schema() -> None:
    none = run_assertion(spec("json-schema"), ctx("{}", prompt=make_prompt()))
    assert not none.passed and none.reason.startswith("invalid assertion:")
    invalid = run_assertion(spec("json-schema", {"type": 12}), ctx("{}"))
    assert not invalid.passed and "invalid JSON Schema" in invalid.reason


OUT = '{"category": "bug", "tags": ["urgent", "login"], "summary": "Cannot log in"}'


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"path": "$.category", "equals": "bug"}, True),
        ({"path": "$.category", "equals": "billing"}, False),
        ({"path": "$.tags", "contains": "login"}, True),
        ({"path": "$.tags", "contains": "billing"}, False),
        ({"path": "$.summary", "contains": "log in"}, True),
        ({"path": "$.summary", "matches": "^Cannot"}, True),
        ({"path": "$.summary", "matches": "^Can$"}, False),
        ({"path": "$.tags[*]", "equals": ["urgent", "login"]}, True),
        ({"path": "$.category"}, True),
        ({"path": "$.priority"}, False),
    ],
)
def test_json_path(options: dict[str, Any], expected: bool) -> None:
    assert run_assertion(spec("json-path", **options), ctx(OUT)).passed is expected


def test_json_path_reason_names_path_expected_and_actual() -> None:
    r = run_assertion(spec("json-path", path="$.category", equals="billing"), ctx(OUT))
    assert r.reason == "expected 'billing' at $.category, got 'bug'"
    missing = run_assertion(spec("json-path", path="$.priority", equals=1), ctx(OUT))
    assert missing.reason == "nothing at $.priority"
    not_json = run_assertion(spec("json-path", path="$.a", equals=1), ctx("nope"))
    assert not not_json.passed and "not valid JSON" in not_json.reason


def test_json_path_bad_path_and_short_form() -> None:
    bad = run_assertion(spec("json-path", path="category", equals="bug"), ctx(OUT))
    assert not bad.passed and bad.reason.startswith("invalid assertion: JSONPath must start")
    short = spec("json-path", {"path": "$.category", "equals": "bug"})
    assert run_assertion(short, ctx(OUT)).passed


def test_negated_json_path() -> None:
    r = run_assertion(spec("not-json-path", path="$.category", equals="billing"), ctx(OUT))
    assert r.passed and r.score == 1.0


def test_unforeseen_value_shapes_fail_instead_of_crashing() -> None:
    # `[1] in {...}` raises TypeError (unhashable): reported, not raised
    r = run_assertion(spec("json-path", path="$", contains=[1]), ctx('{"a": 1}'))
    assert not r.passed and r.reason.startswith("assertion crashed: TypeError")


def test_schema_is_compiled_once_and_reused_correctly(monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    checks: list[object] = []
    original = jsonschema.Draft202012Validator.check_schema

    def counting(schema: Any, *args: Any, **kwargs: Any) -> None:
        checks.append(schema)
        original(schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", counting)
    schema_spec = spec("json-schema", {"type": "object", "required": ["category"]})
    verdicts = [
        run_assertion(schema_spec, ctx(out)).passed
        for out in ('{"category": "bug"}', '{"other": 1}', '{"category": "x"}')
    ]
    assert verdicts == [True, False, True]
    assert len(checks) == 1
    broken = spec("json-schema", {"type": "no-such-type"})
    for _ in range(2):
        result = run_assertion(broken, ctx("{}"))
        assert not result.passed and "invalid JSON Schema" in result.reason


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("NaN", "NaN is not a JSON number"),
        ('{"x": Infinity}', "Infinity is not a JSON number"),
        ('{"n": ' + "7" * 5000 + "}", "a number with more than 4,300 digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
    ],
    ids=["NaN", "Infinity", "5,000 digits", "100,000 deep"],
)
def test_is_json_is_json_as_json_defines_it(output: str, reason: str) -> None:
    """Python's json reads NaN and Infinity (is-json passed "NaN"); a deep or huge answer
    was "assertion crashed: RecursionError" (or ValueError) rather than a verdict."""
    for kind in ("is-json", "json-schema"):
        result = run_assertion(spec(kind, schema={"type": "object"}), ctx(output))
        assert not result.passed, kind
        assert reason in result.reason and "crashed" not in result.reason, result.reason
