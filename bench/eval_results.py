"""Cost of the results document for 10,000 cases: build, summarize, write, read, JUnit.

Issue 4's memory target is 150 MB peak for a 10,000-case run; this measures the share of
the results model. Run: .venv/bin/python bench/eval_results.py
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from promptctl.evals.assertions import AssertionResult
from promptctl.evals.results import CaseResult, RunInfo, read_results, to_document, write_results
from promptctl.providers.types import Usage
from promptctl.report.junit import to_junit_xml

N = 10_000


def _cases() -> list[CaseResult]:
    out = []
    for i in range(N):
        prompt = f"team/prompt{i % 20}"
        out.append(
            CaseResult(
                key=f"{prompt}::openai/gpt-4o-mini::test {i}::{i % 3}",
                prompt=prompt,
                version="1.0.0",
                content_hash="sha256:" + "ab" * 32,
                target="openai/gpt-4o-mini",
                test=f"test {i}",
                repeat=i % 3,
                status="pass" if i % 7 else "fail",
                vars={"ticket": f"ticket number {i} " * 5},
                answered_by="openai/gpt-4o-mini",
                request_hash="cd" * 32,
                score=1.0 if i % 7 else 0.5,
                output='{"category": "billing", "confidence": 0.93}',
                assertions=(
                    AssertionResult("is-json", True, 1.0, 1.0, "output is valid JSON"),
                    AssertionResult("json-path", True, 1.0, 1.0, "$.category is 'billing'"),
                ),
                usage=Usage(220, 14),
                cost_usd=0.0000414,
                latency_ms=50.0 + i % 40,
            )
        )
    return out


def _timed() -> None:
    t0 = time.perf_counter()
    cases = _cases()
    t1 = time.perf_counter()
    doc = to_document(RunInfo.start(), cases)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.json"
        write_results(path, doc)
        t3 = time.perf_counter()
        size = path.stat().st_size
        read_results(path)
        t4 = time.perf_counter()
    xml = to_junit_xml(doc)
    t5 = time.perf_counter()
    ms = [1000 * (b - a) for a, b in ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))]
    print(f"{N} cases: build {ms[0]:.0f} ms, to_document+summary {ms[1]:.0f} ms")
    print(f"  write {ms[2]:.0f} ms ({size / 1e6:.1f} MB), read {ms[3]:.0f} ms")
    print(f"  junit {ms[4]:.0f} ms ({len(xml) / 1e6:.1f} MB)")


def _peak_memory() -> float:
    """Peak traced allocation (MB) to build the records and the document; measured in a
    separate pass because tracemalloc slows every allocation down."""
    tracemalloc.start()
    doc = to_document(RunInfo.start(), _cases())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del doc
    return peak / 1e6


def main() -> None:
    _timed()
    print(f"  peak traced memory for records + document: {_peak_memory():.0f} MB")


if __name__ == "__main__":
    main()
