"""A burst of server errors in `promptctl test` opens the circuit without failing the
healthy cases after it, and the report says when it opened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM

CASES = 30


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 10}\n"
    )
    tests = "".join(
        f"  - name: c{i:02d}\n    vars: {{n: {i}}}\n    assert:\n"
        "      - {type: contains, value: ok}\n"
        for i in range(CASES)
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.yaml").write_text(
        "id: p\nversion: 1.0.0\nmodel:\n  use: openai/gpt-4o-mini\n  params: {max_tokens: 5}\n"
        "inputs:\n  n: {type: integer}\nmessages:\n  - user: 'case {{ n }}'\ntests:\n" + tests
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-breaker-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    fake_llm.reply("ok")
    fake_llm.latency_s = 0.01
    return tmp_path


@pytest.mark.parametrize("concurrency", [1, 4])
def test_five_server_errors_fail_only_their_own_cases(
    project: Path,
    fake_llm: FakeLLM,
    concurrency: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(5):
        fake_llm.error(500)
    args = ["test", "--concurrency", str(concurrency), "--output", "r.json"]
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 3, out + err  # provider errors, and nothing else
    doc = json.loads((project / "r.json").read_text())
    statuses = [c["status"] for c in doc["cases"]]
    kinds = [c["error"]["kind"] for c in doc["cases"] if c["error"]]
    assert kinds == ["server"] * 5  # no circuit_open: every healthy case was answered
    assert statuses.count("pass") == CASES - 5
    assert fake_llm.calls["openai"] == CASES
    events = doc["run"]["circuit_breaker"]
    if concurrency > 1 and not events:
        return  # a healthy answer landed between the failures: the circuit never opened
    (event,) = events
    assert event["target"] == "openai/gpt-4o-mini" and event["failures"] == 5
    assert event["closed_at"] is not None and event["closed_at"] >= event["opened_at"]
    assert "circuit opened for openai/gpt-4o-mini at " in out
    assert "after 5 consecutive failures; closed at" in out


def test_a_dead_provider_is_probed_not_hammered(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(CASES):
        fake_llm.error(500)
    args = ["test", "--concurrency", "8", "--output", "r.json"]
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 3, out + err
    doc = json.loads((project / "r.json").read_text())
    kinds = {c["error"]["kind"] for c in doc["cases"]}
    assert kinds == {"server", "circuit_open"}
    # after the opening, waiting cases share one trial call instead of each calling
    assert fake_llm.calls["openai"] < CASES
    (event,) = doc["run"]["circuit_breaker"]
    assert event["closed_at"] is None and event["failed_trials"] >= 1
    assert "still open at the end" in out
