"""`promptctl render` when the inputs fit no target's context window: bad input, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run

PROMPT = """\
id: docs/ask
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {max_tokens: 100}
inputs:
  doc: {type: string}
messages:
  - user: "{{ doc }}"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text("providers:\n  openai: {}\n")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "ask.yaml").write_text(PROMPT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_inputs_too_long_for_every_window_exit_2_in_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # gpt-4o-mini: 128,000 tokens; 600,000 bytes of prose are estimated at ~150,000
    (project / "vars.json").write_text(json.dumps({"doc": "word " * 120_000}))
    code, out, err = run(["render", "docs/ask", "--vars", "vars.json"], monkeypatch, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "context_length" in lines[0] and "openai/gpt-4o-mini" in lines[0]
    assert "give the history a budget" in lines[0]  # how to fix it
    assert out == ""
    # the same prompt with inputs that fit renders
    (project / "vars.json").write_text(json.dumps({"doc": "word " * 1_000}))
    code, out, err = run(["render", "docs/ask", "--vars", "vars.json"], monkeypatch, capsys)
    assert code == 0, err
