"""`--max-cost` holds budget only for cases that call a provider: cached answers are free."""

from __future__ import annotations

import dataclasses

import pytest
from runner_helpers import a, prompt, tcase

from fakes.llm_server import FakeLLM
from promptctl.evals.runner import EvalOptions, evaluate
from promptctl.promptfile.model import Project

TINY = 0.00001  # below the estimate of a single call (50 output tokens of gpt-4o-mini)
SOME = 0.00005  # room for a few calls, not for ten


def test_all_cached_cases_run_under_a_tiny_budget(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("q answered")
    p = prompt("demo/cached", *[tcase(f"t{i}", f"q{i}", a("contains", "q")) for i in range(40)])
    evaluate(fake_project, [p], EvalOptions(), env=fake_env)
    assert fake_llm.calls["openai"] == 40
    # without the cache the budget would stop this run at once
    uncached = evaluate(
        fake_project, [p], EvalOptions(max_cost=TINY, use_cache=False), env=fake_env
    )
    assert uncached.skipped_budget == 40 and fake_llm.calls["openai"] == 40

    run = evaluate(fake_project, [p], EvalOptions(max_cost=TINY), env=fake_env)
    assert [r.status for r in run.results] == ["pass"] * 40
    assert all(r.cached for r in run.results)
    assert run.skipped_budget == 0 == run.document["run"]["skipped_budget"]
    assert run.exit_code == 0
    assert run.spent_usd == 0.0
    assert fake_llm.calls["openai"] == 40  # no provider call


def test_half_cached_runs_every_cached_case_and_stops_the_rest_at_the_budget(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("q answered")
    tests = [tcase(f"t{i}", f"q{i}", a("contains", "q")) for i in range(20)]
    evaluate(fake_project, [prompt("demo/half", *tests[::2])], EvalOptions(), env=fake_env)
    assert fake_llm.calls["openai"] == 10

    p = prompt("demo/half", *tests)
    run = evaluate(fake_project, [p], EvalOptions(max_cost=SOME, concurrency=1), env=fake_env)
    cached, fresh = run.results[::2], run.results[1::2]
    assert all(r.status == "pass" and r.cached for r in cached)
    statuses = [r.status for r in fresh]
    ran = statuses.count("pass")
    assert 0 < ran < 10
    assert statuses == ["pass"] * ran + ["skipped"] * (10 - ran)  # a prefix of the calls
    assert fake_llm.calls["openai"] == 10 + ran
    assert run.skipped_budget == 10 - ran
    assert 0 < run.spent_usd <= SOME
    assert run.exit_code == 1


@pytest.mark.parametrize("max_cost", [None, 1.0])
def test_cases_that_send_nothing_spend_nothing_and_a_sent_one_counts_its_bound(
    fake_project: Project, fake_llm: FakeLLM, fake_env: dict[str, str], max_cost: float | None
) -> None:
    """No key set: every case errors before a request leaves, and the run's spent figure
    (the progress line, `ci`'s budget left for the base) stays $0. A call that was sent and
    then failed may have been billed: it counts its estimate."""
    tests = [tcase(f"t{i}", f"q{i}", a("contains", "q")) for i in range(5)]
    p = prompt("demo/nokey", *tests)
    no_key = {k: v for k, v in fake_env.items() if k != "OPENAI_API_KEY"}
    options = EvalOptions(max_cost=max_cost, use_cache=False)
    run = evaluate(fake_project, [p], options, env=no_key)
    assert [(r.status, r.error and r.error.kind) for r in run.results] == [("error", "config")] * 5
    assert fake_llm.calls["openai"] == 0
    assert run.spent_usd == 0.0

    fake_llm.cut()  # sent, then cut mid-answer: it may have been billed
    openai = dataclasses.replace(fake_project.providers["openai"], max_retries=0)
    project = dataclasses.replace(fake_project, providers={"openai": openai})
    sent = evaluate(project, [prompt("demo/sent", tests[0])], options, env=fake_env)
    assert [(r.status, r.error and r.error.kind) for r in sent.results] == [("error", "network")]
    assert sent.spent_usd > 0
