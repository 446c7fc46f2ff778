"""`--max-cost` holds: conservative bounds, a stop at the cap, and always a spend line."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM, Logged

CASES = 100
Capture = pytest.CaptureFixture[str]


def _project(root: Path, fake: FakeLLM, params: str, extra_assert: str = "") -> None:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 10}\n"
    )
    tests = "".join(
        f"  - name: c{i}\n    vars: {{n: {i}}}\n    assert:\n"
        "      - {type: contains, value: ok}\n" + extra_assert
        for i in range(CASES)
    )
    (root / "prompts").mkdir()
    (root / "prompts" / "p.yaml").write_text(
        "id: p\nversion: 1.0.0\nmodel:\n  use: openai/gpt-4o-mini\n"
        f"  params: {params}\n"
        "inputs:\n  n: {type: integer}\nmessages:\n  - user: 'case {{ n }}'\ntests:\n" + tests
    )


def _ledger_spend(root: Path) -> float:
    with contextlib.closing(sqlite3.connect(root / ".promptctl" / "ledger.sqlite")) as db:
        return float(db.execute("SELECT coalesce(sum(cost_usd), 0) FROM calls").fetchone()[0])


@pytest.fixture
def env(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-budget-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    fake_llm.reply("ok")
    fake_llm.latency_s = 0.01
    return tmp_path


def test_long_answers_at_concurrency_64_never_pass_the_cap(
    env: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # no max_tokens: every answer is 4,000 tokens ($0.0024 at gpt-4o-mini's $0.60/M)
    _project(env, fake_llm, "{temperature: 0}")
    fake_llm.usage["openai"] = {"prompt_tokens": 50, "completion_tokens": 4000}
    args = ["test", "--max-cost", "0.01", "--concurrency", "64", "--output", "r.json"]
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 1, out + err  # cases left unrun
    served = fake_llm.calls["openai"]
    spent = _ledger_spend(env)
    assert 0 < served < CASES
    assert spent <= 0.01, f"spent ${spent} of $0.01 over {served} calls"
    run_info = json.loads((env / "r.json").read_text())["run"]
    assert run_info["spent_usd"] == pytest.approx(spent)
    assert run_info["max_cost_usd"] == 0.01
    assert f"of --max-cost $0.01; {CASES - served} cases skipped" in out
    assert re.search(r"spent \$0\.0\d+ of --max-cost", out)


def test_tight_bounds_wait_for_settling_instead_of_stopping_early(
    env: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the bound of one case (~$0.0003 for 500 output tokens) is 15x its real cost
    _project(env, fake_llm, "{temperature: 0, max_tokens: 500}")
    fake_llm.usage["openai"] = {"prompt_tokens": 10, "completion_tokens": 30}
    args = ["test", "--max-cost", "0.001", "--concurrency", "64"]
    code, out, _ = run(args, monkeypatch, capsys)
    served = fake_llm.calls["openai"]
    spent = _ledger_spend(env)
    assert spent <= 0.001
    # only ~3 bounds fit at once, yet cases keep running as earlier ones settle
    assert served > 20, served
    assert "cases skipped" in out and f"; {CASES - served} cases skipped" in out
    assert code == (0 if served == CASES else 1)


def test_the_judges_calls_are_held_against_the_budget(
    env: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rubric = "      - {type: llm-rubric, value: 'says ok'}\n"
    _project(env, fake_llm, "{temperature: 0, max_tokens: 20}", rubric)
    config = env / "promptctl.yaml"
    config.write_text(
        config.read_text().replace("openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest")
        + f"  anthropic: {{kind: anthropic, base_url: '{fake_llm.anthropic_base}',"
        " api_key_env: ANTHROPIC_API_KEY, max_retries: 0, timeout_s: 10}\n"
    )
    prompt_file = env / "prompts" / "p.yaml"
    prompt_file.write_text(
        prompt_file.read_text().replace("openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest")
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-budget-0123456789")
    # the graded call is cheap; the judge (openai/gpt-4o-mini) reads 3,000 tokens and
    # writes its 400: ~$0.0007 a case, most of the run's cost
    fake_llm.usage["anthropic"] = {"input_tokens": 10, "output_tokens": 2}
    fake_llm.usage["openai"] = {"prompt_tokens": 3000, "completion_tokens": 400}

    def reply(logged: Logged) -> str:
        if logged.wire == "openai":
            return json.dumps({"reasoning": "fine", "pass": True, "score": 1.0})
        return "ok"

    fake_llm.reply(reply)
    args = ["test", "--max-cost", "0.005", "--concurrency", "64"]
    _, out, err = run(args, monkeypatch, capsys)
    assert fake_llm.calls["openai"] > 0, out + err  # the judge ran
    assert _ledger_spend(env) <= 0.005, (fake_llm.calls, out)
    assert "of --max-cost $0.005" in out


def test_no_max_cost_no_spend_line(
    env: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _project(env, fake_llm, "{max_tokens: 5}")
    code, out, _ = run(["test", "--concurrency", "64"], monkeypatch, capsys)
    assert code == 0 and "--max-cost" not in out
