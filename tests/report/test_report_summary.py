"""Terminal summary: the table rows, the problem list, the plain-text fallback, rich."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

from promptctl.report.summary import problems, render_plain, summary_renderables, summary_rows


def _summary(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "prompt": "support/triage",
        "version": "1.3.0",
        "content_hash": "sha256:x",
        "target": "openai/gpt-4o-mini",
        "cases": 12,
        "passed": 8,
        "failed": 2,
        "errors": 1,
        "skipped": 1,
        "pass_rate": 0.8,
        "pass_rate_ci95": [0.4902, 0.9433],
        "mean_score": 0.85,
        "input_tokens": 1200,
        "output_tokens": 80,
        "cost_usd": 0.0123,
        "latency_p50_ms": 410.2,
        "latency_p95_ms": 980.0,
        "cost_unknown_cases": 0,
    }
    base.update(kw)
    return base


def _doc() -> dict[str, Any]:
    long_output = "word " * 100
    return {
        "run": {"skipped_budget": 1},
        "summary": [
            _summary(),
            _summary(target="local/m", pass_rate=None, pass_rate_ci95=None, passed=0, failed=0,
                     errors=0, skipped=0, cost_usd=None, cost_unknown_cases=2, mean_score=None,
                     latency_p50_ms=None, latency_p95_ms=None),
        ],
        "cases": [
            {"status": "pass", "prompt": "p", "target": "t", "test": "ok", "repeat": 0},
            {"status": "error", "prompt": "p", "target": "t", "test": "e", "repeat": 0,
             "output": None, "error": {"kind": "timeout", "message": "no answer"}},
            {"status": "fail", "prompt": "p", "target": "t", "test": "f", "repeat": 2,
             "output": long_output, "assertions": [
                 {"type": "json-path", "pass": False,
                  "reason": "expected 'billing' at $.category, got 'bug'"},
                 {"type": "is-json", "pass": True, "reason": "output is valid JSON"}]},
        ],
    }  # fmt: skip


def test_rows_show_rate_with_interval_cost_and_percentiles() -> None:
    first, second = summary_rows(_doc())
    assert first == (
        "support/triage@1.3.0",
        "openai/gpt-4o-mini",
        "80.0% (8/10) [49.0%–94.3%]",
        "0.85",
        "1200/80",
        "$0.0123",
        "410 ms",
        "980 ms",
        "1",
    )
    assert second[2] == "–" and second[3] == "–" and second[5] == "unknown"


def test_problems_lists_failures_first_with_reason_and_trimmed_output() -> None:
    found = problems(_doc(), output_chars=40)
    assert [p.status for p in found] == ["fail", "error"]
    assert found[0].label == "p @ t › f [#2]"
    assert found[0].reason == "expected 'billing' at $.category, got 'bug'"
    assert len(found[0].output) == 40 and found[0].output.endswith("…")
    assert found[1].reason == "timeout: no answer"


def test_plain_text_fallback() -> None:
    text = render_plain(_doc(), max_problems=1)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["prompt", "target", "pass"]
    assert "80.0% (8/10) [49.0%–94.3%]" in lines[1]
    assert "FAIL p @ t › f [#2]: expected 'billing' at $.category, got 'bug'" in text
    assert "… and 1 more" in text
    assert lines[-1] == "8 passed, 2 failed, 1 errored, 1 skipped; 1 not run (over --max-cost)"
    assert "\x1b[" not in text


def test_rich_renderables_print_table_and_problems() -> None:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    for item in summary_renderables(_doc()):
        console.print(item)
    out = buf.getvalue()
    assert "support/triage@1.3.0" in out and "[49.0%–94.3%]" in out
    assert "FAIL p @ t › f [#2]: expected 'billing' at $.category, got 'bug'" in out
    assert "ERROR p @ t › e: timeout: no answer" in out


def test_importing_the_module_does_not_import_rich() -> None:
    code = "import sys, promptctl.report.summary; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _local_doc() -> dict[str, Any]:
    """A local unpriced model failing with 503 once, so the Anthropic fallback answered."""
    row = _summary(
        target="local/llama3",
        cases=3,
        passed=3,
        failed=0,
        errors=0,
        skipped=0,
        pass_rate=1.0,
        cost_usd=3.5e-05,
        cost_unknown_cases=2,
    )
    case = {"prompt": "support/triage", "target": "local/llama3", "repeat": 0, "status": "pass"}
    return {
        "summary": [row],
        "cases": [
            {**case, "test": "a", "answered_by": "local/llama3", "cost_usd": None},
            {**case, "test": "b", "answered_by": "local/llama3", "cost_usd": None},
            {**case, "test": "c", "answered_by": "anthropic/claude-haiku-4-5", "cost_usd": 3.5e-05,
             "fallbacks_tried": [{"target": "local/llama3", "reason": "overloaded"}]},
        ],
    }  # fmt: skip


def test_small_costs_keep_their_digits_and_unpriced_cases_are_counted() -> None:
    (row,) = summary_rows(_local_doc())
    assert row[5] == "$0.000035 (+2 unpriced)"


def test_all_unpriced_answers_with_free_errors_show_unknown_not_zero() -> None:
    doc = {"summary": [_summary(target="local/llama3", cost_usd=0.0, cost_unknown_cases=10)]}
    (row,) = summary_rows(doc)
    assert row[5] == "unknown"
    assert "$0" not in render_plain(doc)


def test_plain_summary_names_the_fallback_and_hints_the_missing_price_once() -> None:
    lines = render_plain(_local_doc()).splitlines()
    assert lines[2:4] == [
        "support/triage (local/llama3): 1 case answered by a fallback "
        "(anthropic/claude-haiku-4-5 after local/llama3: overloaded)",
        "no price for local/llama3: add it under `pricing:` in promptctl.yaml",
    ]
    assert sum("no price for" in line for line in lines) == 1


def test_fallback_line_counts_distinct_routes() -> None:
    doc = _local_doc()
    doc["cases"][0].update(
        answered_by="openai/gpt-4o-mini",
        cost_usd=0.001,
        fallbacks_tried=[{"target": "local/llama3", "reason": "timeout"}],
    )
    doc["cases"][1].update(
        answered_by="anthropic/claude-haiku-4-5",
        cost_usd=0.001,
        fallbacks_tried=[{"target": "local/llama3", "reason": "overloaded"}],
    )
    text = render_plain(doc)
    assert (
        "support/triage (local/llama3): 3 cases answered by a fallback "
        "(2 × anthropic/claude-haiku-4-5 after local/llama3: overloaded; "
        "1 × openai/gpt-4o-mini after local/llama3: timeout)"
    ) in text
    assert "no price for" not in text


def test_rich_summary_shows_the_same_notes() -> None:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    for renderable in summary_renderables(_local_doc()):
        console.print(renderable)
    out = buf.getvalue()
    assert "1 case answered by a fallback (anthropic/claude-haiku-4-5 after" in out
    assert "no price for local/llama3: add it under `pricing:`" in out


def test_answered_cases_without_any_token_show_an_unknown_count_not_zero() -> None:
    """A local server that sends no usage (llama-cpp-python's streams): its answers were
    not free of tokens. Errored-only rows, and rows that counted tokens, stay as numbers."""
    doc = {
        "summary": [
            _summary(input_tokens=0, output_tokens=0, cost_usd=0.0),
            _summary(target="b/all-errored", passed=0, failed=0, input_tokens=0, output_tokens=0),
            _summary(target="c/counted"),
        ]
    }
    assert [row[4] for row in summary_rows(doc)] == ["unknown", "0/0", "1200/80"]
