"""Cost of running `python` checks in their own process (check_host) instead of in-process.

Prints the child's start-up (first call) and the per-call round trip, next to calling the
same function directly. Run: .venv/bin/python bench/python_checks.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from promptctl.evals.assertions import check_host
from promptctl.evals.assertions.base import AssertionContext, run_assertion
from promptctl.promptfile.model import AssertionSpec

CHECK = "def polite(output, context):\n    return 'please' in output.lower()\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "checks.py").write_text(CHECK)
        spec = AssertionSpec(type="python", value="checks.py:polite")
        ctx = AssertionContext(output="Please wait", vars={"n": 1}, project_root=root)
        start = time.perf_counter()
        assert run_assertion(spec, ctx).passed
        first = time.perf_counter() - start
        n = 2_000
        start = time.perf_counter()
        for _ in range(n):
            run_assertion(spec, ctx)
        per_call = (time.perf_counter() - start) / n
        namespace: dict[str, object] = {}
        exec(CHECK, namespace)
        func = namespace["polite"]
        assert callable(func)
        start = time.perf_counter()
        for _ in range(n):
            func("Please wait", {"vars": {"n": 1}})
        direct = (time.perf_counter() - start) / n
        check_host._HOST.close()
    print(f"first call (child start + import): {first * 1000:6.1f} ms")
    print(f"per call through the child:        {per_call * 1e6:6.1f} µs ({n} calls)")
    print(f"per call in-process (for scale):   {direct * 1e6:6.1f} µs")


if __name__ == "__main__":
    main()
