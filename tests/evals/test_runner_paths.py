"""Runner paths: repeats, budget, interruption and resume, judge, fallbacks, replay, scheduling."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from runner_helpers import a, prompt, question, tcase

from fakes.llm_server import FakeLLM, Logged, fake_providers
from promptctl.evals.results import CaseResult, results_json_schema
from promptctl.evals.runner import EvalOptions, evaluate, run_eval
from promptctl.ledger import connect
from promptctl.promptfile.model import MessageTemplate, Project, Target


class Sink:
    """Records progress; optionally runs `hook(n)` after the n-th finished case."""

    def __init__(self, hook: object = None) -> None:
        self.total: int | None = None
        self.done: list[CaseResult] = []
        self.hook = hook

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, result: CaseResult, spent_usd: float) -> None:
        self.done.append(result)
        if callable(self.hook):
            self.hook(len(self.done))


def _counter_reply(fake: FakeLLM) -> None:
    counter = itertools.count(1)
    lock = threading.Lock()

    def reply(logged: Logged) -> str:
        with lock:
            return f"{question(logged.body)} #{next(counter)}"

    fake.reply(reply)


def test_repeats_are_distinct_calls_and_rerun_reuses_each_answer(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    _counter_reply(fake_llm)
    p = prompt("demo/noisy", tcase("t", "q", a("contains", "q"), repeat=3))
    first = evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    assert fake_llm.calls["openai"] == 3
    outputs = {r.repeat: r.output for r in first.results}
    assert len(set(outputs.values())) == 3
    assert len({r.request_hash for r in first.results}) == 3
    again = evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    assert fake_llm.calls["openai"] == 3  # nothing paid twice
    assert {r.repeat: r.output for r in again.results} == outputs
    assert all(r.cached for r in again.results)
    # --repeat overrides the test's own repeat: one more repeat is one more call
    evaluate(fake_project, [p], EvalOptions(repeat=4), env=fake_env)
    assert fake_llm.calls["openai"] == 4


def test_budget_stops_scheduling_and_reports_skipped(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("q answered")
    tests = [tcase(f"t{i}", f"q{i}", a("contains", "q")) for i in range(10)]
    p = prompt("demo/budget", *tests)
    run = evaluate(fake_project, [p], EvalOptions(max_cost=0.00005, concurrency=1), env=fake_env)
    statuses = [r.status for r in run.results]
    ran = statuses.count("pass")
    assert 0 < ran < 10
    assert statuses == ["pass"] * ran + ["skipped"] * (10 - ran)  # a prefix ran
    assert run.skipped_budget == 10 - ran == run.document["run"]["skipped_budget"]
    assert fake_llm.calls["openai"] == ran
    assert run.spent_usd <= 0.00005
    assert run.exit_code == 1  # the budget left tests unrun


def test_cancel_mid_run_writes_partial_results_and_rerun_pays_only_the_rest(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str], tmp_path: Path
) -> None:
    fake_llm.latency_s = 0.02
    fake_llm.reply("q answered")
    p = prompt("demo/long", *[tcase(f"t{i}", f"q{i}", a("contains", "q")) for i in range(12)])
    out = tmp_path / "partial.json"

    async def cancelled_run() -> None:
        task: asyncio.Task[object] | None = None

        def cancel_after(n: int) -> None:
            if n == 4 and task is not None:
                task.cancel()

        task = asyncio.create_task(
            run_eval(
                fake_project,
                [p],
                EvalOptions(concurrency=2, output=out),
                progress=Sink(cancel_after),
                env=fake_env,
            )
        )
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_run())
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, results_json_schema())
    assert doc["run"]["interrupted"] is True and doc["run"]["finished_at"] is None
    finished = [c for c in doc["cases"] if c["status"] == "pass"]
    assert len(finished) >= 4
    assert {c["status"] for c in doc["cases"]} == {"pass", "skipped"}
    calls_before = fake_llm.calls["openai"]

    rerun = evaluate(fake_project, [p], EvalOptions(concurrency=2), env=fake_env)
    assert rerun.counts["pass"] == 12
    assert fake_llm.calls["openai"] - calls_before == 12 - len(finished)
    cached = {r.key for r in rerun.results if r.cached}
    assert cached >= {c["key"] for c in finished}


def test_ctrl_c_returns_the_interrupted_run_with_exit_130(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.latency_s = 0.02
    p = prompt("demo/long", *[tcase(f"t{i}", f"q{i}") for i in range(12)])

    def interrupt(n: int) -> None:
        if n == 3:
            signal.raise_signal(signal.SIGINT)

    run = evaluate(
        fake_project, [p], EvalOptions(concurrency=2), progress=Sink(interrupt), env=fake_env
    )
    assert run.interrupted and run.exit_code == 130
    assert run.run_file is not None
    saved = json.loads(run.run_file.read_text())
    assert saved["run"]["interrupted"] is True
    assert 3 <= sum(c["status"] == "pass" for c in saved["cases"]) < 12


def test_llm_rubric_goes_through_the_gateway_cached_and_costed(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    def reply(logged: Logged) -> str:
        if "<rubric>" in logged.body["messages"][-1]["content"]:
            return '{"pass": false, "score": 0.2, "reason": "the answer is rude"}'
        return "go away"

    fake_llm.reply(reply)
    p = prompt("demo/judged", tcase("polite", "help me", a("llm-rubric", "Is polite")))
    run = evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    result = run.results[0]
    assert result.status == "fail"
    assert "rude" in result.assertions[0].reason and result.assertions[0].score == 0.2
    assert fake_llm.calls["openai"] == 2  # the answer and the judge
    judge_body = fake_llm.requests[-1].body
    assert judge_body["model"] == "gpt-4o-mini" and judge_body["temperature"] == 0
    # the case's cost includes the judge's call: two calls of 10 in / 5 out tokens
    one_call = (10 * 0.15 + 5 * 0.6) / 1_000_000
    assert result.cost_usd == pytest.approx(2 * one_call)
    db = connect(fake_project.state_dir / "ledger.sqlite", readonly=True)
    sources = sorted(r[0] for r in db.execute("SELECT source FROM calls").fetchall())
    assert sources == ["eval", "judge"]
    evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    assert fake_llm.calls["openai"] == 2  # answer and verdict both cached


def test_a_judge_call_that_fails_is_named_as_the_judges(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    """The model answered; its judge's server refused: the case's error must not read
    as the prompt's own call failing (the prompt had no schema, the judge had)."""
    project = dataclasses.replace(
        fake_project,
        judge="anthropic/claude-haiku-4-5",
        providers=fake_providers(fake_llm, max_retries=0),
    )
    fake_llm.reply("thank you!")
    fake_llm.auth_error(message="invalid x-api-key", wire="anthropic")
    p = prompt("demo/judged", tcase("polite", "help me", a("llm-rubric", "Is polite")))
    result = evaluate(project, [p], EvalOptions(), env=fake_env).results[0]
    assert result.status == "error" and result.error is not None
    assert result.error.kind == "auth"
    assert result.error.message == (
        "anthropic/claude-haiku-4-5: the judge's call (llm-rubric) failed: invalid x-api-key"
    )
    assert fake_llm.calls["openai"] == 1 and fake_llm.calls["anthropic"] == 1


def test_fallback_answer_is_recorded_as_answered_by(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    project = dataclasses.replace(fake_project, providers=fake_providers(fake_llm, max_retries=0))
    fake_llm.reply("fine")
    fake_llm.auth_error(wire="openai")
    p = prompt(
        "demo/fb",
        tcase("t", "q", a("equals", "fine")),
        fallbacks=(
            Target(
                "anthropic/claude-haiku-4-5",
                params={"max_tokens": 20},
                messages=(MessageTemplate("user", "Fallback asks: {{ q }}"),),
            ),
        ),
    )
    run = evaluate(project, [p], EvalOptions(), env=fake_env)
    result = run.results[0]
    assert result.status == "pass"
    assert result.target == "openai/gpt-4o-mini"
    assert result.answered_by == "anthropic/claude-haiku-4-5"
    assert [(f.target, f.reason) for f in result.fallbacks_tried] == [
        ("openai/gpt-4o-mini", "auth")
    ]
    fallback_body = fake_llm.requests[-1].body
    assert fallback_body["max_tokens"] == 20  # the fallback's own params and messages
    assert fallback_body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Fallback asks: q"}]}
    ]  # Anthropic's wire format


def test_replay_without_recording_names_prompt_and_test(
    fake_project: Project, fake_llm: FakeLLM
) -> None:
    p = prompt("demo/replayed", tcase("needs a recording", "q"))
    run = evaluate(fake_project, [p], EvalOptions(mode="replay"), env={})
    err = run.results[0].error
    assert err is not None and err.kind == "replay_missing"
    assert "demo/replayed" in err.message and "needs a recording" in err.message
    assert run.exit_code == 3
    assert fake_llm.calls["openai"] == 0


def test_record_then_replay_without_key(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("recorded answer")
    p = prompt("demo/rec", tcase("t", "q", a("equals", "recorded answer"), repeat=2))
    recorded = evaluate(fake_project, [p], EvalOptions(mode="record"), env=fake_env)
    assert recorded.counts["pass"] == 2
    assert len(list(fake_project.recordings_dir.glob("*/*.json"))) == 2
    replayed = evaluate(fake_project, [p], EvalOptions(mode="replay", use_cache=False), env={})
    assert replayed.counts["pass"] == 2 and replayed.exit_code == 0
    assert fake_llm.calls["openai"] == 2


def test_slow_provider_does_not_stall_the_others(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    def reply(logged: Logged) -> str:
        if logged.wire == "anthropic":
            time.sleep(1.0)  # the six fast cases answer well within it, even on a busy machine
        return "ok"

    fake_llm.reply(reply)
    slow = prompt(
        "a/slow",
        tcase("s1", "x"),
        tcase("s2", "x"),
        use="anthropic/claude-haiku-4-5",
    )
    fast = prompt("b/fast", *[tcase(f"f{i}", f"y{i}") for i in range(6)])
    sink = Sink()
    run = evaluate(
        fake_project, [slow, fast], EvalOptions(concurrency=4), progress=sink, env=fake_env
    )
    assert sink.total == 8 and run.counts["pass"] == 8
    order = [r.prompt for r in sink.done]
    assert order == ["b/fast"] * 6 + ["a/slow"] * 2
    assert [r.prompt for r in run.results] == ["a/slow"] * 2 + ["b/fast"] * 6  # case order


def test_render_problem_is_that_cases_error_only(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    bad = dataclasses.replace(tcase("bad", "q"), vars={"q": 42})  # q must be a string
    p = prompt("demo/mixed", bad, tcase("good", "fine"))
    run = evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    assert [r.status for r in run.results] == ["error", "pass"]
    err = run.results[0].error
    assert err is not None and err.kind == "render" and "'q'" in err.message
    assert fake_llm.calls["openai"] == 1


def test_a_crash_in_one_case_is_that_cases_error(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    from promptctl.plan.request import ChatRequest
    from promptctl.providers.gateway import Gateway
    from promptctl.providers.types import CallContext, ChatResponse

    class Flaky(Gateway):
        async def complete(
            self,
            request: ChatRequest,
            *,
            fallbacks: object = (),
            repeat: int = 0,
            context: CallContext | None = None,
        ) -> ChatResponse:
            if context is not None and context.test == "boom":
                raise RuntimeError("adapter bug")
            return await super().complete(request, repeat=repeat, context=context)

    fake_llm.reply("q fine")
    p = prompt("demo/crash", tcase("boom", "q"), tcase("ok", "q", a("contains", "fine")))

    async def go() -> list[str]:
        gateway = Flaky(fake_project, env=fake_env)
        try:
            run = await run_eval(fake_project, [p], EvalOptions(), gateway=gateway)
        finally:
            await gateway.aclose()
        err = run.results[0].error
        assert err is not None and err.kind == "internal" and "adapter bug" in err.message
        return [r.status for r in run.results]

    assert asyncio.run(go()) == ["error", "pass"]


def test_an_unexpected_error_while_a_case_is_prepared_is_that_case_only(
    fake_project: Project,
    fake_llm: FakeLLM,
    fake_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a promptctl error, raised while the request is built (a library's bug, a
    template filter's own exception before rendering caught it): that case is `error`
    (internal), the others run on — it used to end the whole run in an ExceptionGroup
    traceback."""
    from promptctl.evals import prepare

    real = prepare.RequestBuilder.prepare

    def breaks_on_boom(self: prepare.RequestBuilder, case: Any) -> Any:
        if case.test.name == "boom":
            raise AssertionError("expected length >= 3, got -1")
        return real(self, case)

    monkeypatch.setattr(prepare.RequestBuilder, "prepare", breaks_on_boom)
    fake_llm.reply("q fine")
    p = prompt("demo/crash", tcase("boom", "q"), tcase("ok", "q", a("contains", "fine")))
    run = evaluate(fake_project, [p], EvalOptions(use_cache=False), env=fake_env)
    err = run.results[0].error
    assert err is not None and err.kind == "internal" and "expected length" in err.message
    assert [r.status for r in run.results] == ["error", "pass"]
    assert fake_llm.calls["openai"] == 1


@pytest.mark.parametrize("typed", [True, False])
def test_a_yaml_date_in_a_tests_vars_is_written_as_its_text_not_a_traceback(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], typed: bool
) -> None:
    """`vars: {day: 2024-01-02}` unquoted is a YAML date, which JSON has not: writing the
    case's row ended the run in a TypeError traceback. A string input refuses it (saying
    to quote it); an untyped one renders it; either way the row is written with the text."""
    import datetime

    from promptctl.promptfile.model import Prompt

    fake_llm.reply("fine")
    inputs = {"day": {"type": "string"}} if typed else {"day": {}}
    test = dataclasses.replace(tcase("t", "q"), vars={"day": datetime.date(2024, 1, 2)})
    p: Prompt = dataclasses.replace(
        prompt("demo/dates", test), inputs=inputs, messages=(MessageTemplate("user", "{{ day }}"),)
    )
    project = Project(root=tmp_path, providers=fake_providers(fake_llm))
    run = evaluate(project, [p], EvalOptions(use_cache=False), env=fake_env)
    (row,) = run.document["cases"]
    assert row["vars"] == {"day": "2024-01-02"}
    if typed:
        assert row["status"] == "error" and "is not of type 'string'" in row["error"]["message"]
        assert fake_llm.calls["openai"] == 0
    else:
        assert row["status"] == "pass" and fake_llm.calls["openai"] == 1
        assert fake_llm.requests[0].body["messages"][-1]["content"] == "2024-01-02"


def test_a_request_json_cannot_encode_is_that_cases_error_not_a_traceback(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An output schema holding `!!binary` (lint's PC013) reached the request's cache key
    outside any case's error handling: the run ended in a TypeError traceback. Now that
    case is an error and the other prompt's case runs."""
    from fakes.cli import run

    (tmp_path / "prompts").mkdir()
    (tmp_path / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake_llm.openai_base}'}}\n"
    )
    head = "version: 1.0.0\nmodel: {use: openai/gpt-4o-mini}\nmessages:\n  - user: hi\n"
    (tmp_path / "prompts" / "bad.yaml").write_text(
        f"id: d/bad\n{head}output:\n  format: json\n  schema:\n    type: object\n"
        "    properties:\n      a: !!binary aGk=\ntests:\n  - name: t\n"
    )
    (tmp_path / "prompts" / "good.yaml").write_text(f"id: d/good\n{head}tests:\n  - name: t\n")
    fake_llm.reply("fine")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-binary-0123456789")
    code, out, err = run(["test", "--no-cache"], monkeypatch, capsys)
    assert "Traceback" not in out + err
    assert code == 3, out + err  # errors and no failures (evaluation.md's exit codes)
    assert "1 passed" in out and "1 errored" in out
    assert fake_llm.calls["openai"] == 1
