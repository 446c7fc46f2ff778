"""Which schemas OpenAI accepts with `strict: true` (providers/openai_strict.py)."""

from __future__ import annotations

from typing import Any

import pytest

from promptctl.providers.openai_strict import strict_problem

OK: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["a", "b"],
    "properties": {
        "a": {"type": ["string", "null"], "pattern": "^x", "description": "d"},
        "b": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["c"],
                "properties": {"c": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/n"}]}},
            },
        },
    },
    "$defs": {"n": {"type": "null"}},
}


def test_a_strict_schema_has_no_problem() -> None:
    assert strict_problem(OK) is None


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "array", "items": {}}, "the root must be `type: object`"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "(root) is an object without `additionalProperties: false`",
        ),
        (
            {**OK, "required": ["a"]},
            "(root) does not list b in `required`",
        ),
        (
            {**OK, "properties": {**OK["properties"], "a": {"type": "string", "minLength": 1}}},
            "a uses `minLength`, which strict mode does not support",
        ),
        (
            {**OK, "properties": {**OK["properties"], "a": {"type": "string", "format": "uri"}}},
            "a uses format `uri`, which strict mode does not support",
        ),
        (
            {
                **OK,
                "properties": {
                    **OK["properties"],
                    "b": {"type": "array", "items": {"type": "object", "properties": {}}},
                },
            },
            "b[] is an object without `additionalProperties: false`",
        ),
    ],
)
def test_each_problem_is_named_with_its_place(schema: dict[str, Any], problem: str) -> None:
    assert strict_problem(schema) == problem


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"required": True}, "(root) does not list a, b in `required`"),
        ({"anyOf": {"type": "null"}}, None),
        ({"$defs": ["n"]}, None),
        ({"format": ["date"]}, "(root) uses format `['date']`, which strict mode does not support"),
    ],
)
def test_an_invalid_schema_gets_an_answer_not_an_exception(
    edit: dict[str, Any], problem: str | None
) -> None:
    """Lint asks this of output schemas that may be invalid too (PC013 reports those):
    `required: true` used to stop lint with a TypeError (found by tools/fuzz_inputs.py)."""
    assert strict_problem({**OK, **edit}) == problem
