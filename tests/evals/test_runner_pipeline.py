"""The runner's pipeline: twice as many cases as call slots, `--concurrency` still the cap
on calls in flight (all providers together), and a freed slot taken by the waiting case
before the answer that freed it is recorded and scored."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from runner_helpers import prompt, tcase

from fakes.llm_server import FakeLLM, PeakReply, fake_providers
from promptctl.evals.options import EvalOptions
from promptctl.evals.runner import evaluate
from promptctl.promptfile.model import Project


@pytest.mark.parametrize("concurrency", [1, 2, 3])
def test_concurrency_caps_the_calls_in_flight_across_providers(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], concurrency: int
) -> None:
    """Each provider allows 10 at once (its own setting): only the run's cap holds the
    calls to `concurrency`, while twice as many cases are under way."""
    peak = PeakReply()
    fake_llm.reply(peak)
    providers = {
        name: replace(settings, max_concurrency=10)
        for name, settings in fake_providers(fake_llm).items()
    }
    project = Project(root=tmp_path, providers=providers, concurrency_set=frozenset(providers))
    tests = [tcase(f"t{i}", f"q{i}") for i in range(12)]
    prompts = [prompt("a/openai", *tests), prompt("a/claude", *tests, use="anthropic/claude-x")]
    options = EvalOptions(concurrency=concurrency, concurrency_given=True, use_cache=False)
    run = evaluate(project, prompts, options, env=fake_env)
    assert run.counts["pass"] == 24
    assert fake_llm.calls["openai"] == fake_llm.calls["anthropic"] == 12
    assert peak.peak == concurrency


@pytest.mark.parametrize(("max_cost", "workers"), [(None, 6), (10.0, 3)])
def test_with_a_budget_no_case_waits_holding_budget(
    tmp_path: Path, fake_llm: FakeLLM, max_cost: float | None, workers: int
) -> None:
    """`--max-cost`: as many cases under way as calls allowed (a case waiting for a slot
    would hold its estimate of the budget); without it, twice as many."""
    from promptctl.evals import runner

    project = Project(root=tmp_path, providers=fake_providers(fake_llm))
    tests = [tcase(f"t{i}", f"q{i}") for i in range(20)]
    options = EvalOptions(concurrency=3, use_cache=False, max_cost=max_cost)
    env = {"OPENAI_API_KEY": "sk-test-pipeline-0123456789"}
    session = runner._Session(project, [prompt("a/b", *tests)], options, None, None, None, env)
    assert session.workers == workers
    assert (session.gateway._call_slots is not None) == (max_cost is None)
    # a worker whose slot went to a waiting case may wait for others' answers to share
    # its ledger commit; without waiting cases, that wait would hold the next call
    answers = session.gateway.calls.answers
    assert answers is not None
    assert answers.window_s == (runner.COMMIT_WINDOW_S if max_cost is None else 0.0)
    run = asyncio.run(session.run())  # and it runs (closing what it opened)
    assert run.counts["pass"] == 20
