"""Schema errors in unrelated keys do not hide a file's other problems."""

from __future__ import annotations

from pathlib import Path

from promptctl.lint import lint
from promptctl.promptfile.model import Project
from promptctl.promptfile.salvage import salvage

from .conftest import Writer

SEVERAL = """\
version: 1.0.0
description: [not, text]
tagz: [x]
model:
  use: openai/gpt-4o-mini
  parms: {}
inputs:
  name: {type: string}
messages:
  - user: "hi {{ name }"
  - user: "hi {{ nme }}"
tests:
  - name: t
    vars: {name: x}
    repeat: 0
    assert:
      - contans: hi
  - name: u
    vars: {name: x}
    assert:
      - {type: 5}
      - {type: regex, value: "("}
"""


def _found(project: Project, path: Path) -> list[tuple[str, int | None]]:
    report = lint(project, [path], check_versions=False)
    return [(d.code, d.location.line if d.location else None) for d in report.diagnostics]


def test_unrelated_schema_errors_keep_the_other_checks(project: Project, write: Writer) -> None:
    found = _found(project, write("prompts/a.yaml", SEVERAL))
    assert found == [
        ("PC003", 2),  # description not a string (and no "has no description" warning)
        ("PC004", 3),  # tagz
        ("PC004", 6),  # parms
        ("PC010", 10),  # template syntax
        ("PC011", 11),  # undeclared nme
        ("PC003", 15),  # repeat: 0
        ("PC015", 17),  # contans, in the same test as the bad repeat
        ("PC003", 21),  # type: 5
        ("PC016", 22),  # bad regex
    ]


def test_broken_messages_stop_the_file_without_cascades(project: Project, write: Writer) -> None:
    text = SEVERAL.replace('  - user: "hi {{ nme }}"', "  - usr: hi")
    found = _found(project, write("prompts/a.yaml", text))
    assert ("PC004", 11) in found
    assert not [code for code, _ in found if code in {"PC010", "PC011", "PC015", "PC016"}]


def test_missing_version_is_reported_and_the_rest_checked(project: Project, write: Writer) -> None:
    found = _found(project, write("prompts/a.yaml", SEVERAL.replace("version: 1.0.0\n", "")))
    assert ("PC003", 1) in found
    assert ("PC015", 16) in found


def test_salvage_keeps_indexes_and_refuses_model_use() -> None:
    data = {"tests": [{"name": "a", "assert": ["x", "y"]}, {"name": "b"}], "model": {"use": 1}}
    out = salvage(data, [("tests", 0, "assert", 0, "type"), ("tests", 1, "name")])
    assert out is not None and out["tests"] == [{"name": "a", "assert": [None, "y"]}, None]
    assert data["tests"][1] == {"name": "b"}  # the input is not modified
    assert salvage(data, [("model", "use")]) is None


def test_a_broken_input_keeps_its_name_but_a_broken_inputs_mapping_stops() -> None:
    data = {"inputs": {"a": "string", "b": {"type": "string"}}}
    assert salvage(data, [("inputs", "a")]) == {"inputs": {"a": {}, "b": {"type": "string"}}}
    assert salvage({"inputs": []}, [("inputs",)]) is None


def test_a_fallbacks_unknown_key_goes_but_its_use_is_essential() -> None:
    data = {"model": {"use": "a/b", "fallbacks": [{"use": "c/d", "parms": {}}]}}
    out = salvage(data, [("model", "fallbacks", 0, "parms")])
    assert out is not None and out["model"]["fallbacks"] == [{"use": "c/d"}]
    assert salvage(data, [("model", "fallbacks", 0, "use")]) is None
    assert salvage(data, [("model", "fallbacks", 0)]) is None
