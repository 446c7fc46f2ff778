"""`promptctl test ID`: a broken file that is not selected does not stop the run (lint
still reports it); a selected broken file stops it with its file:line:column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

PROMPT = """\
version: 1.0.0
model: {use: openai/gpt-4o-mini, params: {temperature: 0, max_tokens: 5}}
inputs: {q: {type: string}}
messages:
  - user: "{{ q }}"
tests:
  - {name: one, vars: {q: a}, assert: [{type: contains, value: fake}]}
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    (tmp_path / "prompts" / "team").mkdir(parents=True)
    (tmp_path / "prompts" / "team" / "qa.yaml").write_text(PROMPT)
    (tmp_path / "prompts" / "wip.yaml").write_text("version: 1.0.0\nmodel: [\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-selection-0123456789")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_broken_file_not_selected_does_not_stop_the_run(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["test", "--quiet", "team/qa"], monkeypatch, capsys)
    assert code == 0, err
    assert "1 passed, 0 failed" in out and "wip.yaml" not in err

    code, out, err = run(["lint"], monkeypatch, capsys)
    assert code == 1  # lint: exit 1 on errors
    assert "prompts/wip.yaml\n      3:1  error   PC001  YAML syntax error" in out


def test_without_a_selection_every_file_must_load(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["test", "--quiet"], monkeypatch, capsys)
    assert code == 2
    assert f"{project / 'prompts' / 'wip.yaml'}:3:1: " in err
    assert "1 error(s) in prompt files" in err


def test_a_selected_broken_file_stops_the_run_with_its_location(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["test", "--quiet", "wip"], monkeypatch, capsys)
    assert code == 2
    assert f"{project / 'prompts' / 'wip.yaml'}:3:1: " in err
    assert "1 error(s) in prompt files" in err


def test_render_parses_only_the_file_of_the_prompt(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from promptctl.promptfile import loader

    parsed: list[str] = []
    real = loader.load_prompt_file

    def counting(path: Path, *args: Any, **kwargs: Any) -> loader.FileLoad:
        parsed.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(loader, "load_prompt_file", counting)
    for ref in ("team/qa", "prompts/team/qa.yaml"):
        parsed.clear()
        code, out, err = run(["render", ref, "--test", "one", "-f", "json"], monkeypatch, capsys)
        assert code == 0, err
        assert json.loads(out)["messages"] == [{"role": "user", "content": "a"}]
        assert parsed == ["qa.yaml"]
    parsed.clear()
    code, _, err = run(["render", "team/q"], monkeypatch, capsys)  # not found: all loaded
    assert code == 2 and "did you mean 'team/qa'?" in err
    assert sorted(parsed) == ["qa.yaml", "wip.yaml"]
