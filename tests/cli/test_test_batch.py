"""`promptctl test --batch` through the CLI against the fake batch APIs: the lifecycle,
batch prices, partial failure and expiry falling back to live calls, resume."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import promptctl.evals.batch as batch_module
from fakes.cli import run
from fakes.llm_server import FakeLLM

PROMPT = """\
id: demo/qa
version: 1.0.0
model:
  use: {use}
  params: {{temperature: 0, max_tokens: 50}}
inputs:
  q: {{type: string}}
messages:
  - user: "Q: {{{{ q }}}}"
tests:
{tests}
"""
WORDS = ("sky", "sea", "sun", "moon", "rain", "snow")


def _q(body: Any) -> str:
    return json.dumps(body).split("Q: ")[1].split('"')[0]


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{base_url: '{fake_llm.openai_base}', max_retries: 0}}\n"
        f"  anthropic: {{base_url: '{fake_llm.anthropic_base}', max_retries: 0}}\n"
        f"  gemini: {{base_url: '{fake_llm.gemini_base}', max_retries: 0}}\n"
    )
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    _write(tmp_path, "openai/gpt-4o-mini")
    fake_llm.reply(lambda logged: f"the {_q(logged.body)} is lovely")
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(var, "sk-test-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(root: Path, use: str) -> None:
    tests = "\n".join(
        f"  - {{name: {w}, vars: {{q: {w}}}, assert: [{{type: contains, value: {w}}}]}}"
        for w in WORDS
    )
    (root / "prompts" / "demo" / "qa.yaml").write_text(PROMPT.format(use=use, tests=tests))


def _test(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str, dict[str, Any]]:
    code, out, err = run(
        ["test", "--batch", "--batch-poll", "0", "--output", "r.json", *extra], monkeypatch, capsys
    )
    doc = json.loads(Path("r.json").read_text()) if Path("r.json").exists() else {}
    return code, out, err, doc


def _batch_paths(fake: FakeLLM) -> list[str]:
    return [f"{r.wire} {r.path}" for r in fake.requests if r.wire.endswith("-batch")]


HALF = (10 * 0.15 + 5 * 0.60) / 1e6 / 2  # fake usage 10 in / 5 out on gpt-4o-mini, at 50%


def test_openai_batch_lifecycle_at_batch_prices(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert fake_llm.calls["openai"] == 0  # no live call: every answer came from the batch
    assert fake_llm.batches.created == ["batch_1"]
    paths = _batch_paths(fake_llm)
    assert paths[:2] == ["openai-batch /v1/files", "openai-batch /v1/batches"]
    polls = [p for p in paths if p == "openai-batch /v1/batches/batch_1"]
    assert len(polls) >= 3  # validating -> in_progress -> ... -> completed, then results
    assert "batch: openai: submitted batch batch_1 (6 requests)" in err
    assert "batch: batch batch_1: in_progress" in err
    assert "batch: 6 answered at batch prices" in err
    assert [c["status"] for c in doc["cases"]] == ["pass"] * 6
    assert all(c["cost_usd"] == pytest.approx(HALF) for c in doc["cases"])
    # the JSONL lines are the live requests: same body, one line per case
    upload = next(r for r in fake_llm.requests if r.path.endswith("/v1/files"))
    lines = [json.loads(x) for x in fake_llm.batches.files["file-1"].splitlines()]
    assert isinstance(upload.body, bytes) and len(lines) == 6
    assert {_q(line["body"]) for line in lines} == set(WORDS)
    assert all(line["body"]["model"] == "gpt-4o-mini" for line in lines)
    assert not list((project / ".promptctl" / "batches").glob("*.json"))  # state cleared
    # the ledger: six calls at the batch price, none counted as a free cache hit
    code, out, _ = run(["calls", "--format", "json"], monkeypatch, capsys)
    rows = json.loads(out)["calls"]
    assert [r["outcome"] for r in rows] == ["ok"] * 6
    assert all(r["cost_usd"] == pytest.approx(HALF) for r in rows)
    assert {r["test"] for r in rows} == set(WORDS)
    # a second run finds everything cached: nothing is submitted again
    code, _, err, _ = _test(monkeypatch, capsys)
    assert code == 0 and fake_llm.batches.created == ["batch_1"]
    assert "6 already cached" in err
    code, out, _ = run(["calls", "--outcome", "cached", "--format", "json"], monkeypatch, capsys)
    assert len(json.loads(out)["calls"]) == 6  # the re-run really was free


def test_partially_failed_batch_falls_back_to_live_calls(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.batches.fail = lambda body: _q(body) in ("sea", "moon")
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert "4 answered at batch prices" in err and "2 left for live calls" in err
    live = [_q(r.body) for r in fake_llm.requests if r.wire == "openai"]
    assert sorted(live) == ["moon", "sea"]
    costs = {c["test"]: c["cost_usd"] for c in doc["cases"]}
    assert costs["sea"] == pytest.approx(2 * HALF) and costs["sky"] == pytest.approx(HALF)


def test_expired_batch_answers_what_it_finished_and_the_rest_goes_live(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.batches.expire = True
    code, _, err, doc = _test(monkeypatch, capsys)
    assert code == 0
    assert "batch batch_1 expired: 3 answered, 3 left for live calls" in err
    assert fake_llm.calls["openai"] == 3
    assert [c["status"] for c in doc["cases"]] == ["pass"] * 6


def test_an_interrupted_batch_is_resumed_not_resubmitted(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = batch_module.run_batches

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        def stop(_: float) -> None:
            raise KeyboardInterrupt

        return real(*args, **{**kwargs, "sleep": stop})

    monkeypatch.setattr(batch_module, "run_batches", interrupted)
    code, _, err, _ = _test(monkeypatch, capsys)
    assert code == 130 and "run the same command again to resume it" in err
    (state,) = (project / ".promptctl" / "batches").glob("openai-*.json")
    assert json.loads(state.read_text())["batch_id"] == "batch_1"
    monkeypatch.setattr(batch_module, "run_batches", real)
    code, _, err, doc = _test(monkeypatch, capsys)
    assert code == 0, err
    assert fake_llm.batches.created == ["batch_1"]  # polled again, never resubmitted
    assert "resuming batch batch_1" in err and fake_llm.calls["openai"] == 0
    assert [c["status"] for c in doc["cases"]] == ["pass"] * 6
    assert not state.exists()


def test_anthropic_message_batches(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(project, "anthropic/claude-haiku-4-5")
    fake_llm.batches.fail = lambda body: _q(body) == "rain"
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert fake_llm.batches.created == ["msgbatch_1"]
    created = next(r for r in fake_llm.requests if r.path == "/v1/messages/batches")
    assert len(created.body["requests"]) == 6
    assert all(r["params"]["model"] == "claude-haiku-4-5" for r in created.body["requests"])
    assert fake_llm.calls["anthropic"] == 1  # only "rain" went live
    half = (10 * 1.0 + 5 * 5.0) / 1e6 / 2
    costs = {c["test"]: c["cost_usd"] for c in doc["cases"]}
    assert costs["sky"] == pytest.approx(half) and costs["rain"] == pytest.approx(2 * half)


def test_gemini_batch_mode_maps_answers_back_by_order(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(project, "gemini/gemini-2.5-flash")
    fake_llm.batches.fail = lambda body: _q(body) == "sun"
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert fake_llm.batches.created == ["batches/gb_1"]
    created = next(r for r in fake_llm.requests if r.path.endswith(":batchGenerateContent"))
    assert created.path == "/v1beta/models/gemini-2.5-flash:batchGenerateContent"
    inlined = created.body["batch"]["inputConfig"]["requests"]["requests"]
    assert [_q(r["request"]) for r in inlined] == list(WORDS)
    # the fake answers in request order without metadata: each case still gets its own
    assert [c["status"] for c in doc["cases"]] == ["pass"] * 6
    assert fake_llm.calls["gemini"] == 1  # only "sun" went live
    half = (10 * 0.30 + 5 * 2.50) / 1e6 / 2
    costs = {c["test"]: c["cost_usd"] for c in doc["cases"]}
    assert costs["sky"] == pytest.approx(half) and costs["sun"] == pytest.approx(2 * half)


def test_a_provider_without_batch_support_runs_live_and_says_so(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with (project / "promptctl.yaml").open("a") as config:
        config.write(f"  local: {{kind: openai-compatible, base_url: '{fake_llm.openai_base}'}}\n")
    _write(project, "local/llama-3-8b")
    code, _, err, _ = _test(monkeypatch, capsys)
    assert code == 0
    assert "6 on local run live (no batch support)" in err
    assert fake_llm.calls["openai"] == 6 and fake_llm.batches.created == []


def test_batch_needs_the_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["test", "--batch", "--no-cache"], monkeypatch, capsys)
    assert code == 2 and "--batch needs --mode auto and the response cache" in err


def test_max_cost_refuses_a_batch_that_may_cost_more(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err, _ = _test(monkeypatch, capsys, "--max-cost", "0.0000001")
    assert code == 2
    assert "--max-cost $1e-07: the batches would cost about $" in err
    assert "nothing was submitted" in err and fake_llm.batches.created == []
    code, _, err, _ = _test(monkeypatch, capsys, "--max-cost", "1")
    assert code == 0, err
    assert fake_llm.batches.created == ["batch_1"]


HISTORY_PROMPT = """\
id: demo/chat
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {max_tokens: 50}
inputs:
  q: {type: string}
  history: {type: array, default: []}
messages:
  - history: history
    max_messages: 4
  - user: "Q: {{ q }}"
tests:
  - name: long
    vars:
      q: sky
      history: %s
    assert: [{type: contains, value: sky}]
"""


def test_a_batched_case_records_the_history_its_request_left_out(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "prompts" / "demo" / "qa.yaml").unlink()
    history = [
        {"role": role, "content": f"{role} turn {n}"}
        for n in range(5)
        for role in ("user", "assistant")
    ]
    (project / "prompts" / "demo" / "chat.yaml").write_text(HISTORY_PROMPT % json.dumps(history))
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert fake_llm.calls["openai"] == 0 and fake_llm.batches.created == ["batch_1"]
    (line,) = [json.loads(x) for x in fake_llm.batches.files["file-1"].splitlines()]
    assert [m["content"] for m in line["body"]["messages"][:-1]] == [
        "user turn 3",
        "assistant turn 3",
        "user turn 4",
        "assistant turn 4",
    ]
    ((case_trim,),) = [c["context_trimmed"] for c in doc["cases"]]
    assert (case_trim["reason"], case_trim["messages_dropped"]) == ("budget", 6)
    db = sqlite3.connect(project / ".promptctl" / "ledger.sqlite")
    (stored,) = db.execute("SELECT context_trimmed FROM calls").fetchall()
    db.close()
    assert json.loads(stored[0]) == [
        {k: case_trim[k] for k in ("reason", "messages_dropped", "tokens_dropped")}
    ]
    assert case_trim["tokens_dropped"] > 0


def test_batch_answers_are_priced_as_live_ones_unknown_or_free(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A model without a price costs None, and the batch line says how many; one priced
    at 0 costs $0."""
    import shutil

    _write(project, "openai/house-model")
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert [c["cost_usd"] for c in doc["cases"]] == [None] * 6
    assert "6 answered at batch prices ($0.00, 6 of unknown cost)" in err
    assert "openai/house-model" in out and "unknown" in out  # the summary's cost column
    config = project / "promptctl.yaml"
    config.write_text(
        config.read_text() + "pricing:\n  openai/house-model: {input: 0, output: 0}\n"
    )
    shutil.rmtree(project / ".promptctl")  # the first answers are cached at no price
    code, out, err, doc = _test(monkeypatch, capsys)
    assert code == 0, out + err
    assert [c["cost_usd"] for c in doc["cases"]] == [0.0] * 6
    assert "6 answered at batch prices ($0.00)" in err
