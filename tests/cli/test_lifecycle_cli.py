"""Model lifecycles through the CLI: lint by date (clock injected), `models`, failover."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

PROMPT = """\
id: support/triage
version: 1.0.0
description: Classify a ticket.
model:
  use: {use}
  fallbacks: [{fallback}]
inputs:
  ticket: {{type: string}}
messages:
  - user: "Ticket: <t>{{{{ ticket }}}}</t>"
tests:
  - name: refund
    vars: {{ticket: refund please}}
    assert: [{{type: contains, value: billing}}]
"""


def _project(root: Path, fake: FakeLLM, *, use: str, fallback: str, config: str = "") -> Path:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{base_url: '{fake.openai_base}', max_retries: 3, timeout_s: 5}}\n"
        f"  anthropic: {{base_url: '{fake.anthropic_base}', max_retries: 3, timeout_s: 5}}\n"
        + config
    )
    (root / "prompts" / "support").mkdir(parents=True)
    (root / "prompts" / "support" / "triage.yaml").write_text(
        PROMPT.format(use=use, fallback=fallback)
    )
    return root


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    monkeypatch.chdir(tmp_path)


def _lint(
    day: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, object]]]:
    monkeypatch.setenv("PROMPTCTL_TODAY", day)
    code, out, _ = run(["lint", "--no-version-check", "--format", "json"], monkeypatch, capsys)
    diags = [d for d in json.loads(out)["diagnostics"] if d["code"] in ("PC023", "PC109")]
    return code, diags


@pytest.mark.usefixtures("env")
def test_lint_warns_before_and_fails_after_the_shutdown_date(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # claude-opus-4-5 shuts down on 2027-01-22 (replacement claude-opus-5-5)
    _project(tmp_path, fake_llm, use="anthropic/claude-opus-4-5", fallback="openai/gpt-4o")
    code, diags = _lint("2026-10-01", monkeypatch, capsys)  # 113 days before: nothing
    assert code == 0 and diags == []
    code, diags = _lint("2026-12-05", monkeypatch, capsys)  # 48 days before: a warning
    assert code == 0
    assert [(d["code"], d["severity"], d["line"]) for d in diags] == [("PC109", "warning", 5)]
    assert "shuts down on 2027-01-22 (in 48 days)" in str(diags[0]["message"])
    assert "replacement anthropic/claude-opus-5-5" in str(diags[0]["message"])
    assert "promptctl compare support/triage --candidates anthropic/claude-opus-5-5" in str(
        diags[0]["hint"]
    )
    code, diags = _lint("2027-01-22", monkeypatch, capsys)  # the day itself: an error
    assert code == 1
    assert [(d["code"], d["severity"]) for d in diags] == [("PC023", "error")]
    assert "calls to it fail" in str(diags[0]["message"])


@pytest.mark.usefixtures("env")
def test_fallbacks_count_and_warn_days_is_configurable(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _project(
        tmp_path,
        fake_llm,
        use="openai/gpt-4o",
        fallback="anthropic/claude-opus-4-5",
        config="lifecycle: {warn_days: 30}\n",
    )
    code, diags = _lint("2026-12-05", monkeypatch, capsys)  # 48 days > 30
    assert code == 0 and diags == []
    code, diags = _lint("2027-01-01", monkeypatch, capsys)  # 21 days
    assert [(d["code"], d["line"], d["column"]) for d in diags] == [("PC109", 6, 15)]


@pytest.mark.usefixtures("env")
def test_bad_today_is_a_usage_error(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _project(tmp_path, fake_llm, use="openai/gpt-4o", fallback="openai/gpt-4o-mini")
    monkeypatch.setenv("PROMPTCTL_TODAY", "05/12/2026")
    code, _, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 2
    assert err.strip() == (
        "error: PROMPTCTL_TODAY='05/12/2026' is not a date (use YYYY-MM-DD, e.g. 2026-12-01)"
    )


@pytest.mark.usefixtures("env")
def test_models_lists_state_shutdown_replacement_and_price(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _project(
        tmp_path,
        fake_llm,
        use="anthropic/claude-opus-4-5",
        fallback="openai/gpt-4-32k",
        config="lifecycle: {models: {openai/gpt-4o: {shutdown: 2027-06-01}}}\n",
    )
    monkeypatch.setenv("PROMPTCTL_TODAY", "2026-12-05")
    code, out, _ = run(["models", "--format", "json"], monkeypatch, capsys)
    assert code == 0
    rows = {r["model"]: r for r in json.loads(out)["models"]}
    opus, gpt4, judge = (
        rows["anthropic/claude-opus-4-5"],
        rows["openai/gpt-4-32k"],
        rows["openai/gpt-4o-mini"],
    )
    assert (opus["state"], opus["shutdown"], opus["days_left"]) == ("retiring", "2027-01-22", 48)
    assert opus["replacement"] == "anthropic/claude-opus-5-5" and opus["input"] == 5.0
    assert (gpt4["state"], gpt4["replacement"]) == ("retired", "openai/gpt-4o")
    assert judge["state"] == "unknown" and judge["input"] == 0.15
    code, out, _ = run(["models", "--check"], monkeypatch, capsys)
    assert code == 1 and "retired" in out and "2027-01-22 (48 d)" in out


@pytest.mark.usefixtures("env")
def test_eval_on_a_retired_model_fails_over_without_retries(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _project(tmp_path, fake_llm, use="openai/gpt-4-32k", fallback="anthropic/claude-haiku-4-5")
    fake_llm.model_retired("gpt-4-32k", wire="openai")
    fake_llm.reply("billing")
    code, out, err = run(["test", "--no-cache", "--output", "r.json"], monkeypatch, capsys)
    assert code == 0, out + err
    assert fake_llm.calls["openai"] == 1 and fake_llm.calls["anthropic"] == 1
    said = [r.getMessage() for r in caplog.records if "retired or unknown" in r.getMessage()]
    assert len(said) == 1 and "failing over at once, no retries" in said[0]
    case = json.loads((tmp_path / "r.json").read_text())["cases"][0]
    assert case["status"] == "pass"
