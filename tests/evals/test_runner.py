"""The evaluation runner against the fake provider server: counting, exit codes, files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from runner_helpers import a, prompt, question, tcase

from fakes.llm_server import FakeLLM, Logged
from promptctl.evals.results import results_json_schema
from promptctl.evals.runner import EvalOptions, evaluate
from promptctl.ledger import connect
from promptctl.promptfile.model import Project


def _echo(logged: Logged) -> str:
    return f"answer to {question(logged.body)}"


def test_pass_fail_error_counts_and_exit_codes(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply(_echo)
    p = prompt(
        "demo/qa",
        tcase("passes", "sky", a("contains", "sky")),
        tcase("fails", "sea", a("contains", "mountain")),
    )
    run = evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    assert run.counts == {"pass": 1, "fail": 1, "error": 0, "skipped": 0}
    assert run.exit_code == 1
    failed = next(r for r in run.results if r.status == "fail")
    assert failed.output == "answer to sea"
    assert "mountain" in failed.assertions[0].reason

    # errors without failures: exit 3 (provider failed after its retries)
    only_pass = prompt("demo/ok", tcase("passes", "sky", a("contains", "sky")))
    fake_llm.auth_error()
    run = evaluate(fake_project, [only_pass], EvalOptions(use_cache=False), env=fake_env)
    assert run.counts["error"] == 1
    assert run.exit_code == 3
    assert run.results[0].error is not None and run.results[0].error.kind == "auth"


def test_all_pass_exit_zero_results_file_validates_and_ledger(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str], tmp_path: Path
) -> None:
    fake_llm.reply(_echo)
    p = prompt("demo/qa", tcase("one", "x", a("contains", "x")), tcase("two", "y"))
    out = tmp_path / "out" / "results.json"
    run = evaluate(fake_project, [p], EvalOptions(output=out), env=fake_env)
    assert run.exit_code == 0
    assert run.run_file is not None and run.run_file.parent == fake_project.state_dir / "runs"
    for path in (run.run_file, out):
        doc = json.loads(path.read_text())
        jsonschema.validate(doc, results_json_schema())
        assert [c["key"] for c in doc["cases"]] == [
            "demo/qa::openai/gpt-4o-mini::one::0",
            "demo/qa::openai/gpt-4o-mini::two::0",
        ]
        assert doc["run"]["interrupted"] is False
    db = connect(fake_project.state_dir / "ledger.sqlite", readonly=True)
    rows = db.execute("SELECT source, prompt_id, test, outcome FROM calls ORDER BY test").fetchall()
    assert rows == [("eval", "demo/qa", "one", "ok"), ("eval", "demo/qa", "two", "ok")]


def test_missing_api_key_is_an_error_naming_the_variable(
    fake_project: Project, fake_llm: FakeLLM
) -> None:
    p = prompt("demo/qa", tcase("one", "x"))
    run = evaluate(fake_project, [p], EvalOptions(), env={})
    assert run.exit_code == 3
    err = run.results[0].error
    assert err is not None and err.kind == "config" and "OPENAI_API_KEY" in err.message
    assert fake_llm.calls["openai"] == 0


@pytest.mark.parametrize("concurrency", [0, -1])
def test_concurrency_must_be_positive(
    fake_project: Project, fake_env: dict[str, str], concurrency: int
) -> None:
    from promptctl.errors import UsageError

    with pytest.raises(UsageError, match="concurrency"):
        evaluate(fake_project, [], EvalOptions(concurrency=concurrency), env=fake_env)


def test_a_worker_still_waiting_to_start_quits_once_every_case_is_taken(
    fake_project: Project,
    fake_llm: FakeLLM,
    fake_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    import promptctl.evals.runner as runner

    # workers 1 and 2 would start 30 s and 60 s late: worker 0 runs all three cases
    monkeypatch.setattr(runner, "WORKER_STAGGER_S", 30.0)
    fake_llm.reply(_echo)
    p = prompt("demo/qa", *(tcase(f"t{i}", f"q{i}", a("contains", f"q{i}")) for i in range(3)))
    start = time.monotonic()
    run = evaluate(fake_project, [p], EvalOptions(concurrency=3), env=fake_env)
    assert time.monotonic() - start < 10
    assert run.counts == {"pass": 3, "fail": 0, "error": 0, "skipped": 0}
