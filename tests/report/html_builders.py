"""Results documents and comparisons for the HTML report tests, built from real records."""

from __future__ import annotations

import dataclasses
from typing import Any

from promptctl.evals.assertions import AssertionResult
from promptctl.evals.compare import compare
from promptctl.evals.comparison import Comparison
from promptctl.evals.results import CaseError, CaseResult, RunInfo, to_document
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.model import GateConfig
from promptctl.providers.types import Usage

HOSTILE = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    "</textarea></script><b>bold?</b> & done"
)
TARGETS = ("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5")
PRICES = {"openai/gpt-4o-mini": 0.00004, "anthropic/claude-haiku-4-5": 0.0003}


def case(
    prompt: str,
    test: str,
    target: str,
    status: str,
    output: str | None,
    *,
    repeat: int = 0,
    latency: float = 300.0,
    cached: bool = False,
) -> CaseResult:
    ok = status == "pass"
    assertions = (
        ()
        if status == "error"
        else (
            AssertionResult("contains", ok, 1.0 if ok else 0.0, 1.0, f"reason for {test}: {ok}"),
            AssertionResult("is-json", True, 1.0, 1.0, "output is valid JSON"),
        )
    )
    return CaseResult(
        key=f"{prompt}::{target}::{test}::{repeat}",
        prompt=prompt,
        version="1.0.0",
        content_hash="sha256:" + "ab" * 32,
        target=target,
        test=test,
        repeat=repeat,
        status=status,  # type: ignore[arg-type]
        vars={"ticket": f"ticket for {test}"},
        answered_by=None if status == "error" else target,
        score=None if status == "error" else (1.0 if ok else 0.5),
        output=output,
        assertions=assertions,
        usage=Usage(200, 20) if status != "error" else Usage(),
        cost_usd=None if status == "error" else PRICES[target],
        latency_ms=None if status == "error" else latency,
        cached=cached,
        error=CaseError("timeout", "openai: read timed out after 30 s")
        if status == "error"
        else None,
    )


def run_doc(n_tests: int = 6, *, output_chars: int = 40) -> dict[str, Any]:
    """Two prompts x two targets; billing fails on the second target, one error, one
    hostile output (support/triage, test 'hostile', first target)."""
    cases = []
    for p, prompt in enumerate(("support/triage", "content/summarize")):
        for i in range(n_tests):
            for t, target in enumerate(TARGETS):
                status = "fail" if (t == 1 and i % 3 == 0) else "pass"
                if p == 1 and t == 1 and i == 1:
                    status = "error"
                text = f"answer {prompt} {i} {target} " + "x" * output_chars
                cases.append(
                    case(prompt, f"test {i}", target, status, text, latency=100 + 37 * i + 200 * t)
                )
    hostile = case("support/triage", "hostile", TARGETS[0], "pass", HOSTILE)
    calls = (  # model-written tool calls are as hostile as its text
        ToolCall("c1", HOSTILE, {"html": HOSTILE}),
        ToolCall("c2", "lookup", {}, False, f"arguments are not JSON: {HOSTILE}"),
    )
    cases.append(dataclasses.replace(hostile, tool_calls=calls))
    cases.append(
        case("support/triage", "needle test", TARGETS[0], "pass", "a haystack with a NEEDLE")
    )
    return to_document(RunInfo.start(mode="live"), cases)


def diff_comparison() -> tuple[Comparison, dict[str, Any], dict[str, Any]]:
    """Base: all pass; head: 'refund' regressed (with a changed output), 'vat' fixed."""
    base, head = [], []
    target = TARGETS[0]
    for test, b, h in (
        ("refund", "pass", "fail"),
        ("vat", "fail", "pass"),
        ("login", "pass", "pass"),
    ):
        for r in range(3):
            base.append(
                case(
                    "support/triage",
                    test,
                    target,
                    b,
                    f"category: billing, urgency: high ({test})",
                    repeat=r,
                )
            )
            out = (
                "category: other, urgency: low (refund) <script>window.__pwned=3</script>"
                if test == "refund"
                else f"category: billing, urgency: high ({test})"
            )
            head.append(case("support/triage", test, target, h, out, repeat=r))
    base_doc = to_document(RunInfo.start(), base)
    head_doc = to_document(RunInfo.start(), head)
    return compare(base_doc, head_doc, GateConfig()), base_doc, head_doc
