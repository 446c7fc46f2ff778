"""`context:` fixtures and `degraded:` sources in tests, through `promptctl test`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

PROMPT = """\
id: crm/reply
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {temperature: 0, max_tokens: 50}
inputs:
  ticket: {type: string}
  customer: {type: object}
  policy: {type: string, default: "standard policy"}
messages:
  - system: "Policy: {{ policy }}"
  - user: "{{ customer.name }}: {{ ticket }}"
tests:
  - name: recorded
    vars: {ticket: where is it}
    context:
      customer: {name: Ada}
      policy: gold policy
    assert: [{type: contains, value: gold}]
  - name: policy down
    vars: {ticket: where is it}
    context:
      customer: {name: Ada}
      policy: gold policy
    degraded: [policy]
    assert: [{type: contains, value: standard}]
  - name: crm down
    vars: {ticket: where is it}
    context:
      customer: {name: Ada}
    degraded: [customer]
    assert: [{type: contains, value: x}]
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 10}\n"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "reply.yaml").write_text(PROMPT)
    fake_llm.reply(lambda logged: str(logged.body["messages"][0]["content"]))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_context_fixtures_and_degraded_sources(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _out, err = run(["test", "--output", "r.json", "--no-cache"], monkeypatch, capsys)
    doc = json.loads((project / "r.json").read_text())
    cases = {c["test"]: c for c in doc["cases"]}
    assert cases["recorded"]["status"] == "pass"  # the recorded policy was sent
    assert cases["policy down"]["status"] == "pass"  # the input's default was sent
    sent = [r.body["messages"] for r in fake_llm.requests]
    assert [m[0]["content"] for m in sent] == ["Policy: gold policy", "Policy: standard policy"]
    assert all(m[1]["content"] == "Ada: where is it" for m in sent)
    # a required input whose source is down fails the case, as ContextError fails a call
    crm = cases["crm down"]
    assert crm["status"] == "error" and "customer" in crm["error"]["message"]
    assert code != 0, err


def test_degraded_must_name_an_input(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = PROMPT.replace("degraded: [policy]", "degraded: [polcy]")
    (project / "prompts" / "reply.yaml").write_text(text)
    code, out, err = run(["lint"], monkeypatch, capsys)
    assert code == 1
    assert "tests[1].degraded: 'polcy' is not an input of this prompt" in out + err
