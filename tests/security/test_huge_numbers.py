"""Values Python refuses to read although the syntax allows them: integers of over 4,300
digits (CPython's guard against quadratic int parsing) and dates that do not exist.

Each used to end a command in a `ValueError` traceback; each is now a located error
(exit 2, or a lint finding) that says what is wrong in the reader's words, never
"use sys.set_int_max_str_digits()".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run

HUGE = "7" * 5000
PROMPT = """\
version: 1.0.0
description: numbers
model: {{use: openai/gpt-4o-mini}}
inputs:
  n: {{type: {kind}}}
messages:
  - user: "{{{{ n }}}}"
tests:
  - name: t
    vars: {{n: {value}}}
    assert: [{{type: contains, value: x}}]
"""


def _project(root: Path, prompt: str) -> None:
    (root / "promptctl.yaml").write_text("prompts: prompts\n")
    (root / "prompts").mkdir()
    (root / "prompts" / "p.yaml").write_text(prompt)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("integer", HUGE, ("cannot be read as YAML reads it", "an integer of 5,000 digits")),
        ("string", "2024-13-45", ("'2024-13-45' cannot be read", "month must be in 1..12")),
        # PyYAML's own AttributeError for a value its regex does not match
        ("string", "!!timestamp 99999-01-01", ("cannot be read", "not a valid !!timestamp")),
    ],
    ids=["5,000-digit integer", "no such date", "tagged non-date"],
)
def test_a_prompt_file_value_python_cannot_read_is_located(
    kind: str,
    value: str,
    expected: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _project(tmp_path, PROMPT.format(kind=kind, value=value))
    monkeypatch.chdir(tmp_path)
    for args in (["lint", "--no-version-check"], ["list"], ["render", "p", "--test", "t"]):
        code, out, err = run(args, monkeypatch, capsys)
        assert "Traceback" not in out + err, args
        assert code in (1, 2), (args, code, out, err)
        assert all(e in out + err for e in expected), (args, out + err)
        assert "10:" in out + err and "set_int_max_str_digits" not in out + err


def test_a_results_file_or_bundle_with_a_huge_number_is_refused_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.json").write_text('{"schema": "promptctl/results", "cases": [' + HUGE + "]}")
    (tmp_path / "b.bundle.json").write_text(json.dumps({"format": 1})[:-1] + f', "n": {HUGE}}}')
    for args, expected in [
        (["report", "r.json"], "not a JSON results document: a number with more than 4,300"),
        (["merge", "r.json", "r.json", "--output", "m.json"], "a number with more than 4,300"),
        (["bundle", "verify", "b.bundle.json"], "bundle is not valid JSON: a number with more"),
    ]:
        code, out, err = run(args, monkeypatch, capsys)
        assert code == 2 and expected in err, (args, code, out, err)
        assert "Traceback" not in out + err


def test_a_dataset_row_with_a_huge_number_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = PROMPT.format(kind="integer", value="1").replace(
        "  - name: t\n    vars: {n: 1}\n", "  - dataset: ../rows.jsonl\n"
    )
    _project(tmp_path, prompt)
    (tmp_path / "rows.jsonl").write_text('{"vars": {"n": 1}}\n{"vars": {"n": ' + HUGE + "}}\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 1
    assert "rows.jsonl" in out and "invalid JSON in dataset: a number with more than 4,300" in out
    assert "set_int_max_str_digits" not in out
