"""Unreadable usage (Prism's Gemini counts of -2147483648) is named as such, not "no price"."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, fake_providers
from promptctl.ledger.store import connect
from promptctl.providers.pricing import price_for
from promptctl.runtime import Runtime

TARGET = "gemini/gemini-2.0-flash"
BROKEN = {"promptTokenCount": -2147483648, "candidatesTokenCount": -2147483648}
PROMPT = f"""\
id: demo/qa
version: 1.0.0
model:
  use: {TARGET}
  params: {{max_tokens: 20}}
messages:
  - user: "hello"
tests:
  - name: greets
    assert:
      - {{type: contains, value: hello}}
      - {{type: cost, max: 1}}
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  gemini: {{kind: gemini, base_url: '{fake_llm.gemini_base}',"
        " api_key_env: GEMINI_API_KEY, max_retries: 0, timeout_s: 5}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)
    monkeypatch.setenv("GEMINI_API_KEY", "AIzaFakeGeminiKey0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    fake_llm.reply("hello there")
    fake_llm.usage["gemini"] = BROKEN
    return tmp_path


def test_results_and_costs_say_usage_is_unreadable_not_that_a_price_is_missing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert price_for(TARGET) is not None  # the price exists
    code, out, err = run(["test", "--output", "r.json"], monkeypatch, capsys)
    assert code == 1, out + err  # the cost assertion cannot pass on an unknown cost
    assert "no price" not in out + err
    assert f"unreadable token usage from {TARGET}" in out
    assert "cost is unknown (the response's token usage is unreadable)" in out
    case = json.loads((project / "r.json").read_text())["cases"][0]
    assert case["cost_usd"] is None and case["usage_known"] is False

    db = connect(project / ".promptctl" / "ledger.sqlite", readonly=True)
    assert db.execute("SELECT usage_known, cost_usd FROM calls").fetchall() == [(0, None)]
    db.close()
    code, out, err = run(["costs"], monkeypatch, capsys)
    assert code == 0, err
    assert "1 call(s) of unknown cost are not in the totals" in out
    assert f"unreadable token usage from {TARGET}" in out
    assert "no price" not in out


def test_runtime_warns_of_unreadable_usage_once_and_never_of_a_missing_price(
    tmp_path: Path, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    from runtime.helpers import prompt, write_bundle

    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt(use=TARGET)], fake_providers(fake_llm, max_retries=0))
    fake_llm.usage["gemini"] = BROKEN
    env = {"GEMINI_API_KEY": "AIzaFakeGeminiKey0123456789abcdef"}
    with caplog.at_level(logging.WARNING), Runtime.load(bundle, env=env, ledger=False) as rt:
        for _ in range(3):
            assert rt.run("support/triage", ticket="t").cost_usd is None
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "usage" in m] == [
        f"{TARGET} sent no readable token usage: its cost is unknown"
    ]
    assert not [m for m in messages if "no price" in m]
