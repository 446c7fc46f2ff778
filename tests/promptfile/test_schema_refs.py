"""`$ref`s in a prompt's JSON Schemas (promptfile.schema_refs): local, resolvable, no loop.

jsonschema itself is the oracle: every schema `ref_problem` accepts validates values
without error, and every loop it refuses makes jsonschema recurse until Python's limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from fakes.cli import run
from fakes.llm_server import FakeLLM
from promptctl.errors import InputValidationError, PromptFileError
from promptctl.promptfile.model import MessageTemplate, ModelConfig, Prompt
from promptctl.promptfile.schema_refs import rebase_refs, ref_problem
from promptctl.render import validate_inputs

ITEM = {"type": "object", "properties": {"qty": {"type": "integer", "minimum": 1}}}

ACCEPTED: list[tuple[str, dict[str, Any], Any]] = [
    (
        "defs",
        {"$defs": {"item": ITEM}, "type": "array", "items": {"$ref": "#/$defs/item"}},
        [{"qty": 2}],
    ),
    (
        "tree",
        {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}},
        {"kids": [{"kids": []}]},
    ),
    ("anchor", {"$defs": {"i": {"$anchor": "item", **ITEM}}, "$ref": "#item"}, {"qty": 1}),
    (
        "escaped-pointer",
        {
            "$defs": {"a/b": ITEM, "c~d": ITEM},
            "allOf": [{"$ref": "#/$defs/a~1b"}, {"$ref": "#/$defs/c~0d"}],
        },
        {"qty": 3},
    ),
    ("percent-encoded", {"$defs": {"a b": ITEM}, "$ref": "#/$defs/a%20b"}, {"qty": 3}),
    (
        "property-named-$ref",
        {"type": "object", "properties": {"$ref": {"type": "string"}}},
        {"$ref": "x"},
    ),
    ("$ref-as-data", {"const": {"$ref": "https://example.com"}}, {"$ref": "https://example.com"}),
    (
        "two-refs-one-target",
        {
            "$defs": {"i": ITEM},
            "properties": {"a": {"$ref": "#/$defs/i"}, "b": {"$ref": "#/$defs/i"}},
        },
        {"a": {"qty": 1}, "b": {"qty": 2}},
    ),
]


@pytest.mark.parametrize(
    ("schema", "value"), [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED]
)
def test_an_accepted_schema_resolves_in_jsonschema(schema: dict[str, Any], value: Any) -> None:
    assert ref_problem(schema) is None
    assert list(Draft202012Validator(schema).iter_errors(value)) == []


LOOPS: list[tuple[str, dict[str, Any]]] = [
    (
        "a-b-a",
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    ),
    ("root-itself", {"$ref": "#"}),
    (
        "through-allOf",
        {
            "$defs": {"a": {"allOf": [{"type": "object"}, {"$ref": "#/$defs/a"}]}},
            "properties": {"x": {"$ref": "#/$defs/a"}},
        },
    ),
    (
        "through-not-and-if",
        {"$defs": {"a": {"not": {"if": {"$ref": "#/$defs/a"}}}}, "$ref": "#/$defs/a"},
    ),
]


@pytest.mark.parametrize("schema", [s for _, s in LOOPS], ids=[n for n, _ in LOOPS])
def test_a_loop_that_would_recurse_forever_is_refused(schema: dict[str, Any]) -> None:
    problem = ref_problem(schema)
    assert problem is not None and "loop" in problem[1], problem
    # (jsonschema would recurse forever: the guard is needed; where the limit hits inside
    # `rpds`, a Rust extension, pyo3 turns the RecursionError into a PanicException)
    with pytest.raises(BaseException) as info:
        list(Draft202012Validator(schema).iter_errors({"x": {}}))
    assert isinstance(info.value, RecursionError) or (
        type(info.value).__name__ == "PanicException" and "RecursionError" in str(info.value)
    ), repr(info.value)


@pytest.mark.parametrize(
    ("schema", "path", "fragment"),
    [
        ({"$ref": "https://example.com/s.json"}, ("$ref",), "outside this schema"),
        ({"items": {"$ref": "defs.json#/a"}}, ("items", "$ref"), "never fetches"),
        ({"$ref": "#/$defs/missing"}, ("$ref",), "points to nothing"),
        ({"$ref": "#nowhere"}, ("$ref",), "points to nothing"),
        (
            {"prefixItems": [{"$ref": "#/prefixItems/" + "9" * 5000}]},
            ("prefixItems", 0, "$ref"),
            "points to nothing",
        ),  # an index Python would refuse to read as an int
        ({"properties": {"a": {"$ref": 7}}}, ("properties", "a", "$ref"), "must be a string"),
        (
            {"$defs": {"x": {"$id": "https://e/x", "type": "string"}}},
            ("$defs", "x", "$id"),
            "nested `$id`",
        ),
    ],
)
def test_a_ref_outside_or_to_nothing_is_refused_where_it_is(
    schema: dict[str, Any], path: tuple[Any, ...], fragment: str
) -> None:
    problem = ref_problem(schema)
    assert problem is not None and problem[0] == path and fragment in problem[1], problem


def test_jsonschema_would_fail_on_a_remote_ref_with_an_exception() -> None:
    """What `ref_problem` saves a run from: no fetch, an exception mid-validation."""
    with pytest.raises(Unresolvable):
        list(Draft202012Validator({"$ref": "https://example.com/s.json"}).iter_errors(1))


def test_rebased_refs_point_into_the_schema_at_its_new_place() -> None:
    schema = {"$defs": {"i": ITEM}, "items": {"$ref": "#/$defs/i"}, "x": {"$ref": "#"}}
    moved = rebase_refs(schema, ("properties", "a/b"))
    assert moved["items"] == {"$ref": "#/properties/a~1b/$defs/i"}
    assert moved["x"] == {"$ref": "#/properties/a~1b"}
    assert schema["items"] == {"$ref": "#/$defs/i"}  # a copy


def _prompt(inputs: dict[str, Any]) -> Prompt:
    return Prompt(
        id="p",
        version="1.0.0",
        path=Path("p.yaml"),
        model=ModelConfig(use="openai/gpt-4o-mini"),
        messages=(MessageTemplate(role="user", template="{{ order }}"),),
        inputs=inputs,
    )


def test_an_inputs_own_defs_validate_its_values() -> None:
    """Before, `#/$defs/item` was looked up in the object schema of all inputs: every
    render of such a prompt ended in a PointerToNowhere traceback."""
    prompt = _prompt(
        {"order": {"$defs": {"item": ITEM}, "type": "array", "items": {"$ref": "#/$defs/item"}}}
    )
    assert validate_inputs(prompt, {"order": [{"qty": 2}]}) == {"order": [{"qty": 2}]}
    with pytest.raises(InputValidationError, match="minimum of 1"):
        validate_inputs(prompt, {"order": [{"qty": 0}]})


def test_an_input_with_a_remote_ref_is_a_prompt_file_error() -> None:
    prompt = _prompt({"order": {"$ref": "https://example.com/order.json"}})
    with pytest.raises(PromptFileError, match="outside this schema"):
        validate_inputs(prompt, {"order": []})


def test_cli_reports_bad_refs_at_their_lines_and_a_run_never_shows_a_traceback(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " max_retries: 0}\n"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.yaml").write_text(
        "version: 1.0.0\n"
        "description: refs\n"
        "model: {use: openai/gpt-4o-mini}\n"
        "inputs:\n"
        "  q: {type: string}\n"
        "output:\n"
        "  format: json\n"
        "  schema:\n"
        "    type: object\n"
        "    properties:\n"
        "      a: {$ref: 'https://example.com/a.json'}\n"
        "messages:\n"
        "  - user: '{{ q }}'\n"
        "tests:\n"
        "  - name: t\n"
        "    vars: {q: hi}\n"
        "    assert: [{type: is-json}]\n"
    )
    fake_llm.reply('{"a": 1}')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-refs-0123456789")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 1
    assert "11:17" in out and "PC013" in out and "outside this schema" in out, out
    code, out, err = run(["test", "--no-cache"], monkeypatch, capsys)
    assert "Traceback" not in out + err
    assert code in (1, 3), out + err
    assert "outside this schema" in out + err, out + err
