"""From a ChatResponse (or a failure) to a CaseResult, and the exit code."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalcore_builders import make_prompt, spec

from promptctl.errors import ProviderError
from promptctl.evals.cases import Case, expand_cases
from promptctl.evals.judge import JudgeVerdict
from promptctl.evals.scoring import (
    case_vars,
    error_result,
    exit_code,
    score_case,
    skipped_result,
)
from promptctl.promptfile.model import TestCase
from promptctl.providers.types import ChatResponse, SkippedTarget, Usage


def _case(*asserts: Any, repeat: int = 0) -> Case:
    test = TestCase("refund", vars={"ticket": "charged twice"}, asserts=tuple(asserts))
    prompt = make_prompt(tests=(test,))
    prompt = replace(prompt, inputs={"ticket": {}, "tier": {"default": "free"}})
    return Case(prompt, prompt.model.primary, test, repeat)


class _Judge:
    async def grade(
        self, rubric: str, output: str, vars: Mapping[str, Any], *, model: str | None = None
    ) -> JudgeVerdict:
        return JudgeVerdict(True, 1.0, "fine", cost_usd=0.5)


def _response(text: str, **kw: Any) -> ChatResponse:
    base: dict[str, Any] = {
        "target": "anthropic/claude",
        "usage": Usage(100, 10),
        "cost_usd": 0.25,
        "latency_ms": 320.0,
        "fallbacks_tried": (SkippedTarget("openai/gpt-4o-mini", "rate_limit", "429"),),
    }
    base.update(kw)
    return ChatResponse(text=text, **base)


def test_score_case_builds_a_full_result(tmp_path: Path) -> None:
    case = _case(spec("json-path", path="$.category", equals="billing"), spec("llm-rubric", "ok"))
    result = asyncio.run(
        score_case(
            case,
            _response('{"category": "bug"}'),
            project_root=tmp_path,
            judge=_Judge(),
            request_hash="abc",
        )
    )
    assert result.status == "fail" and result.score == 0.5
    assert result.key == "support/triage::openai/gpt-4o-mini::refund::0"
    assert result.answered_by == "anthropic/claude" and result.target == "openai/gpt-4o-mini"
    assert result.cost_usd == 0.75  # the model's 0.25 plus the judge's 0.5
    assert result.request_hash == "abc" and result.latency_ms == 320.0
    assert [(f.target, f.reason) for f in result.fallbacks_tried] == [
        ("openai/gpt-4o-mini", "rate_limit")
    ]
    assert result.assertions[0].reason == "expected 'billing' at $.category, got 'bug'"
    assert result.vars == {"ticket": "charged twice"}


def test_score_case_pass_and_unknown_cost(tmp_path: Path) -> None:
    case = _case(spec("contains", "refund"))
    result = asyncio.run(
        score_case(case, _response("refund ok", cost_usd=None, cached=True), project_root=tmp_path)
    )
    assert result.status == "pass" and result.cost_usd is None and result.cached


def test_case_vars_apply_input_defaults() -> None:
    assert case_vars(_case()) == {"tier": "free", "ticket": "charged twice"}


def test_error_and_skipped_results() -> None:
    case = _case()
    err = error_result(case, ProviderError("timeout", "no answer", provider="openai", model="m"))
    assert err.status == "error" and err.error is not None
    assert (err.error.kind, err.error.message) == ("timeout", "openai/m: timeout: no answer")
    internal = error_result(case, RuntimeError("boom"))
    assert internal.error is not None and internal.error.kind == "internal"
    assert internal.error.message == "RuntimeError: boom"
    assert skipped_result(case).status == "skipped"


def test_exit_codes() -> None:
    cases = expand_cases([make_prompt(tests=(TestCase("a"), TestCase("b")))])
    ok = [skipped_result(c) for c in cases]
    passed = [replace(r, status="pass") for r in ok]
    failed = [replace(passed[0], status="fail"), passed[1]]
    errored = [error_result(cases[0], RuntimeError("x")), passed[1]]
    assert exit_code(passed) == 0
    assert exit_code(failed) == 1
    assert exit_code(errored) == 3
    assert exit_code([*failed, *errored]) == 1
    assert exit_code(passed, skipped_budget=2) == 1


def test_output_schema_is_checked_on_every_case_unless_the_test_opts_out(tmp_path: Path) -> None:
    """Like the runtime's `result.ok`: a declared output.schema is an implicit assertion."""
    from promptctl.promptfile.model import OutputSpec

    schema = {"type": "object", "required": ["category"]}

    def run(test: TestCase, text: str) -> tuple[str, list[tuple[str, bool]]]:
        prompt = replace(
            make_prompt(tests=(test,)),
            inputs={"ticket": {}},
            output=OutputSpec(format="json", schema=schema),
        )
        case = Case(prompt, prompt.model.primary, test, 0)
        result = asyncio.run(score_case(case, _response(text), project_root=tmp_path))
        return result.status, [(a.type, a.passed) for a in result.assertions]

    plain = TestCase("t", vars={"ticket": "x"}, asserts=(spec("contains", "cat"),))
    assert run(plain, '{"cat": 1}') == ("fail", [("contains", True), ("json-schema", False)])
    assert run(plain, '{"category": 1}') == ("pass", [("contains", True), ("json-schema", True)])
    opted_out = replace(plain, check_output_schema=False)
    assert run(opted_out, '{"cat": 1}') == ("pass", [("contains", True)])
    # an explicit json-schema assertion is not doubled
    explicit = replace(plain, asserts=(spec("json-schema"),))
    assert run(explicit, '{"cat": 1}') == ("fail", [("json-schema", False)])
