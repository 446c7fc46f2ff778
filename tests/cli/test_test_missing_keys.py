"""`promptctl test` when fallbacks' API keys are unset: skipped, or one config error."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.cli import run as _run
from fakes.llm_server import FakeLLM

PROMPT = """\
id: demo/qa
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  fallbacks: [anthropic/claude-haiku-4-5]
inputs:
  q: {type: string}
messages:
  - user: "Q: {{ q }}"
tests:
  - name: sky
    vars: {q: sky}
    assert:
      - {type: contains, value: sky}
"""
OPENAI_KEY = "sk-test-cli-0123456789abcdef"


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 2}\n"
        f"  anthropic: {{kind: anthropic, base_url: '{fake_llm.anthropic_base}',"
        " api_key_env: ANTHROPIC_API_KEY, max_retries: 0, timeout_s: 2}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)
    fake_llm.reply("the sky is blue")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_primary_key_only_passes_without_calling_the_fallback(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["test", "--no-cache"], monkeypatch, capsys)
    assert code == 0, out
    assert fake_llm.calls == {"openai": 1}


def test_no_key_at_all_exits_3_naming_both_variables_before_any_request(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, err = _run(["test", "--no-cache"], monkeypatch, capsys)
    assert code == 3
    assert (
        "set OPENAI_API_KEY (openai/gpt-4o-mini) or ANTHROPIC_API_KEY"
        " (anthropic/claude-haiku-4-5)" in out + err
    )
    assert fake_llm.requests == []
