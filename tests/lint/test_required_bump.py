"""The interface decides the bump (without git: two in-memory prompts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptctl.lint.versions import required_bump
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import MessageTemplate, ModelConfig, OutputSpec, Prompt


def prompt(inputs: dict[str, Any], template: str = "{{ a }}", schema: Any = None) -> Prompt:
    p = Prompt(
        id="p",
        version="1.0.0",
        path=Path("p.yaml"),
        model=ModelConfig(use="openai/gpt-4o-mini"),
        messages=(MessageTemplate(role="user", template=template),),
        inputs=inputs,
        output=OutputSpec(format="json" if schema else "text", schema=schema),
    )
    return Prompt(**{**p.__dict__, "content_hash": content_hash(p)})


BASE = {"a": {"type": "string", "maxLength": 100, "enum": ["x", "y"]}}


@pytest.mark.parametrize(
    ("new_inputs", "level", "reason"),
    [
        ({"a": {"type": "string", "maxLength": 50, "enum": ["x", "y"]}}, "major", "narrowed"),
        ({"a": {"type": "string", "maxLength": 100, "enum": ["x"]}}, "major", "narrowed"),
        ({"a": {"type": "integer", "maxLength": 100, "enum": ["x", "y"]}}, "major", "narrowed"),
        ({"a": {**BASE["a"], "pattern": "^x"}}, "major", "narrowed"),
        ({}, "major", "removed"),
        ({**BASE, "b": {"type": "string"}}, "major", "new required input 'b'"),
        ({**BASE, "b": {"type": "string", "default": ""}}, "minor", "new optional input"),
        ({"a": {"type": "string", "maxLength": 200, "enum": ["x", "y", "z"]}}, "minor", "widened"),
        (
            {"a": {"type": ["string", "null"], "maxLength": 100, "enum": ["x", "y"]}},
            "minor",
            "widened",
        ),
        ({"a": {**BASE["a"], "default": "x"}}, "minor", "made optional"),
        ({"a": {**BASE["a"], "description": "the a"}}, "patch", "documentation"),
    ],
)
def test_input_changes(new_inputs: dict[str, Any], level: str, reason: str) -> None:
    got_level, got_reason = required_bump(prompt(BASE), prompt(new_inputs))
    assert got_level == level
    assert reason in got_reason


def test_optional_input_becoming_required_is_major() -> None:
    old = prompt({"a": {"type": "string", "default": "x"}})
    new = prompt({"a": {"type": "string"}})
    assert required_bump(old, new) == ("major", "input 'a' became required")


def test_template_only_is_patch_and_identical_is_none() -> None:
    assert required_bump(prompt(BASE), prompt(BASE, "A: {{ a }}"))[0] == "patch"
    assert required_bump(prompt(BASE), prompt(BASE)) == ("none", "")


def test_output_schema_change_is_major() -> None:
    old = prompt(BASE, schema={"type": "object"})
    new = prompt(BASE, schema={"type": "object", "required": ["x"]})
    assert required_bump(old, new)[0] == "major"
