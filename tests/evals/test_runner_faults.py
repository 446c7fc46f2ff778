"""Every provider fault through the evaluation runner: case status, kind, retries, exit code."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from runner_helpers import a, prompt, tcase

from fakes.faults import ANTHROPIC, CASES, OPENAI, PRIMARY, TIMEOUT_S, Case
from fakes.llm_server import FakeLLM, fake_providers
from promptctl.evals.runner import EvalOptions, EvalRun, run_eval
from promptctl.promptfile.model import Project, Target
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallRecord

RETRIES = 2
OPTIONS = EvalOptions(use_cache=False, write_run_file=False)


def _run(
    tmp_path: Path, fake: FakeLLM, env: dict[str, str], case: Case, *, fallback: bool
) -> tuple[EvalRun, list[CallRecord], list[float]]:
    project = Project(
        root=tmp_path,
        evals_dir=tmp_path / "evals",
        providers=fake_providers(fake, max_retries=RETRIES, timeout_s=TIMEOUT_S),
    )
    backup = ANTHROPIC if case.wire == "openai" else OPENAI
    p = prompt(
        "demo/qa",
        tcase("one", "sky", a("contains", "fake")),
        use=PRIMARY[case.wire],
        fallbacks=(Target(use=backup),) if fallback else (),
    )
    records: list[CallRecord] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go() -> EvalRun:
        gateway = Gateway(
            project, use_cache=False, env=env, on_call=records.append, sleep=sleep,
            retry_base_s=0.001,
        )  # fmt: skip
        try:
            return await run_eval(project, [p], OPTIONS, gateway=gateway, env=env)
        finally:
            await gateway.aclose()

    return asyncio.run(go()), records, waits


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_fault_is_retried_or_falls_over(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], case: Case
) -> None:
    case.inject(fake_llm, case.wire)
    started = time.monotonic()
    run, records, waits = _run(tmp_path, fake_llm, fake_env, case, fallback=True)
    assert time.monotonic() - started < TIMEOUT_S + 2.0
    [result] = run.results
    assert result.status == "pass" and run.exit_code == 0
    assert records[0].error_kind == case.kind
    if case.retried:
        assert result.answered_by == PRIMARY[case.wire] and result.fallbacks_tried == ()
        assert fake_llm.calls[case.wire] == 2 and len(waits) == 1
    else:
        assert [f.target for f in result.fallbacks_tried] == [PRIMARY[case.wire]]
        assert result.fallbacks_tried[0].reason.startswith(case.kind)
        assert fake_llm.calls[case.wire] == 1 and waits == []


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "timeout"], ids=lambda c: c.name)
def test_a_persistent_fault_is_an_error_case_and_exit_3(
    tmp_path: Path, fake_llm: FakeLLM, fake_env: dict[str, str], case: Case
) -> None:
    for _ in range(RETRIES + 1):
        case.inject(fake_llm, case.wire)
    run, _, waits = _run(tmp_path, fake_llm, fake_env, case, fallback=False)
    [result] = run.results
    assert result.status == "error" and run.exit_code == 3
    assert result.error is not None and result.error.kind == case.kind
    assert fake_llm.calls[case.wire] == (RETRIES + 1 if case.retried else 1)
    assert len(waits) == (RETRIES if case.retried else 0)
    assert "Traceback" not in result.error.message
    assert not any(key in str(run.document) for key in fake_env.values())
