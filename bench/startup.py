"""Start-up: `promptctl --version` / `--help` / `test --help`, and one cached case.

Run: .venv/bin/python bench/startup.py [--runs 15] [--files 200]

Each line is the min and median wall time of `--runs` processes and the CPU the process
used (user + sys, from wait4), next to `python -c pass`. On a shared machine read the
CPU column first (see docs/performance.md).

1. `--version`, `--help` and `test --help`: target under 150 ms wall. Heavy modules
   (jsonschema, rich.table, gitpython, httpx, pydantic) must be imported lazily, and a
   command builds only itself (cli/main.py).
2. `promptctl test bench/p000 --test "case 0"` from a warm cache, in a project of
   `--files` prompt files of 50 tests (bench/eval.py's project, 50 ms fake server): the
   other files are read for their `id:` only, never parsed. Target: <= 0.25 s wall.

`PYTHONDONTWRITEBYTECODE=1` (some sandboxes) recompiles every edited module per run:
run `python -m compileall -q src` first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import TESTS_PER_FILE, _project
from overhead import start_server


def _sample(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall s, CPU s) of one process; it must exit 0."""
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-not-a-real-key"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output.decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _line(label: str, cmd: list[str], runs: int, target: float, cwd: Path | None = None) -> None:
    samples = [_sample(cmd, cwd) for _ in range(runs)]
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    verdict = "ok" if min(walls) <= target else "SLOW"
    print(
        f"{label:<40} wall min {min(walls) * 1000:6.0f} med {statistics.median(walls) * 1000:6.0f}"
        f" ms, CPU min {min(cpus) * 1000:5.0f} med {statistics.median(cpus) * 1000:5.0f} ms"
        f"  (target <= {target * 1000:.0f} ms) {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=200, help="prompt files (50 tests each)")
    args = parser.parse_args()
    py = sys.executable
    print(f"load average {os.getloadavg()[0]:.1f}")
    _line("python -c pass", [py, "-c", "pass"], args.runs, 0.15)
    for flags in (["--version"], ["--help"], ["test", "--help"]):
        _line(f"promptctl {' '.join(flags)}", [py, "-m", "promptctl", *flags], args.runs, 0.15)
    url, server = start_server(0.05)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            _project(root, url, args.files * TESTS_PER_FILE)
            one = [py, "-m", "promptctl", "test", "--quiet", "--project", str(root)]
            one += ["bench/p000", "--test", "case 0"]
            _sample(one)  # fills the cache
            label = f"1 cached case of {args.files} files"
            _line(label, one, max(5, args.runs // 3), 0.25)
    finally:
        server.terminate()
        server.join()
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
