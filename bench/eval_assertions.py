"""Throughput of scoring: evaluate_test with two deterministic assertions per case.

The runner's target is 1,000 cases in ~1.6 s wall including the calls; scoring must be a
negligible part of that. Run: .venv/bin/python bench/eval_assertions.py
"""

from __future__ import annotations

import asyncio
import time

from promptctl.evals.assertions import AssertionContext, evaluate_test
from promptctl.promptfile.model import AssertionSpec

ASSERTS = (
    AssertionSpec(type="is-json"),
    AssertionSpec(type="json-path", options={"path": "$.category", "equals": "billing"}),
)


async def _run(n: int) -> int:
    passed = 0
    for i in range(n):
        ctx = AssertionContext(output=f'{{"category": "billing", "n": {i}}}')
        outcome = await evaluate_test(ASSERTS, ctx)
        passed += outcome.passed
    return passed


def main() -> None:
    for n in (1_000, 10_000):
        start = time.perf_counter()
        passed = asyncio.run(_run(n))
        elapsed = time.perf_counter() - start
        assert passed == n
        per_case = elapsed / n * 1e6
        print(f"{n:>6} cases x 2 assertions: {elapsed * 1000:7.1f} ms ({per_case:.1f} µs/case)")


if __name__ == "__main__":
    main()
