"""Build `promptctl/results@1` documents in code, per docs/results-format.md.

`doc_from_outcomes` takes one string per test, one letter per repeat:
P pass, F fail, E error, S skipped — e.g. {"refund": "PPF"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.evals.results import summary_rows

TARGET = "openai/gpt-4o-mini"
_STATUS = {"P": "pass", "F": "fail", "E": "error", "S": "skipped"}


def make_case(
    prompt: str,
    test: str,
    repeat: int,
    status: str,
    *,
    target: str = TARGET,
    cost: float | None = 0.001,
    latency: float | None = 100.0,
    output: str | None = None,
    reason: str = "expected 'billing', got 'other'",
    cached: bool = False,
) -> dict[str, Any]:
    passed = status == "pass"
    judged = status in ("pass", "fail")
    return {
        "key": f"{prompt}::{target}::{test}::{repeat}",
        "prompt": prompt,
        "version": "1.0.0",
        "content_hash": "sha256:abc",
        "target": target,
        "answered_by": target if status != "error" else None,
        "test": test,
        "repeat": repeat,
        "vars": {},
        "request_hash": None,
        "status": status,
        "score": (1.0 if passed else 0.0) if judged else None,
        "output": (output if output is not None else ("billing" if passed else "other"))
        if judged
        else None,
        "assertions": [
            {
                "type": "equals",
                "pass": passed,
                "score": 1.0 if passed else 0.0,
                "weight": 1.0,
                "reason": "" if passed else reason,
            }
        ]
        if judged
        else [],
        "usage": {
            "input_tokens": 100,
            "output_tokens": 10,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
        },
        "cost_usd": cost if status != "skipped" else None,
        "latency_ms": latency if status != "skipped" else None,
        "cached": cached,
        "error": {"kind": "timeout", "message": "timed out"} if status == "error" else None,
        "fallbacks_tried": [],
    }


def run_info(run_id: str = "run-1", **overrides: Any) -> dict[str, Any]:
    """A complete `run` block (every field the schema requires), with `overrides`."""
    return {
        "id": run_id,
        "started_at": "2026-11-27T10:00:00Z",
        "finished_at": "2026-11-27T10:01:00Z",
        "promptctl_version": "0.1.0",
        "git_commit": None,
        "mode": "replay",
        "interrupted": False,
        "shard": None,
        "skipped_budget": 0,
        **overrides,
    }


def make_doc(cases: list[dict[str, Any]], *, run_id: str = "run-1") -> dict[str, Any]:
    return {
        "schema": "promptctl/results@1",
        "run": run_info(run_id),
        "cases": cases,
        "summary": summary_rows(cases),
    }


def doc_from_outcomes(
    outcomes: Mapping[str, Mapping[str, str]],
    *,
    target: str = TARGET,
    cost: float | None = 0.001,
    latency: float | None = 100.0,
    run_id: str = "run-1",
) -> dict[str, Any]:
    """{prompt: {test: "PPF"}} -> a results document."""
    cases = [
        make_case(prompt, test, i, _STATUS[ch], target=target, cost=cost, latency=latency)
        for prompt, tests in outcomes.items()
        for test, letters in tests.items()
        for i, ch in enumerate(letters)
    ]
    return make_doc(cases, run_id=run_id)
