"""Median wall time of `promptctl --version` / `--help` against `python -c pass`.

Target: under 150 ms. Heavy modules (jsonschema, rich.table, gitpython, httpx) must be
imported lazily for this to hold.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_ms(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    base = median_ms([py, "-c", "pass"], args.runs)
    print(f"python -c pass        {base:7.1f} ms (median of {args.runs})")
    for flag in ("--version", "--help"):
        ms = median_ms([py, "-m", "promptctl", flag], args.runs)
        verdict = "ok" if ms < 150 else "SLOW"
        print(f"promptctl {flag:<11} {ms:7.1f} ms  (+{ms - base:.1f} ms over python)  {verdict}")


if __name__ == "__main__":
    main()
