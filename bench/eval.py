"""The whole `promptctl test` process, start-up included, against a local 50 ms server.

Run: .venv/bin/python bench/eval.py [--cases 1000] [--memory-cases 10000]

1. 1,000 cases (two deterministic assertions each) at concurrency 50, fresh cache.
   Target: under 1.6 s wall (the floor is 1.0 s: 1,000 x 50 ms / 50).
2. The same command again, every answer cached. Target: under 1.0 s wall.
3. 10,000 cases (fresh cache): peak RSS of the promptctl process. Target: under 150 MB.

The server (bench/overhead.py's raw asyncio HTTP server) runs in its own process so its
CPU does not count against promptctl's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import start_server

TESTS_PER_FILE = 50


def _project(root: Path, url: str, cases: int) -> None:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{url}', api_key_env: OPENAI_API_KEY,"
        " max_concurrency: 50}\n"
    )
    prompts = root / "prompts" / "bench"
    prompts.mkdir(parents=True)
    files = -(-cases // TESTS_PER_FILE)
    for f in range(files):
        n = min(TESTS_PER_FILE, cases - f * TESTS_PER_FILE)
        tests = "".join(
            f"  - name: case {i}\n"
            f"    vars: {{question: 'question {f}-{i}'}}\n"
            "    assert:\n"
            "      - {type: contains, value: ok}\n"
            "      - {type: length, max: 50}\n"
            for i in range(n)
        )
        (prompts / f"p{f:03d}.yaml").write_text(
            f"id: bench/p{f:03d}\nversion: 1.0.0\n"
            "model: {use: openai/gpt-4o-mini, params: {temperature: 0, max_tokens: 5}}\n"
            "inputs:\n  question: {type: string}\n"
            "messages:\n  - system: Answer in one word.\n  - user: '{{ question }}'\n"
            f"tests:\n{tests}"
        )


_CPU: list[float] = []  # CPU seconds (user + system) of each run, for a loaded machine


def _run(root: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB) and exit code of one `promptctl test` process."""
    exe = Path(sys.executable).parent / "promptctl"
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-not-a-real-key"}
    cmd = [str(exe), "test", "--quiet", "--concurrency", "50", "--project", str(root)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    _CPU.append(usage.ru_utime + usage.ru_stime)
    return wall, usage.ru_maxrss / 1024, proc.returncode, output


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--memory-cases", type=int, default=10000)
    args = parser.parse_args()
    url, server = start_server(0.05)
    failed = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            _project(root, url, args.cases)
            wall, rss, code, out = _run(root)
            ok = code == 0 and wall < 1.6
            failed |= not ok
            print(
                f"{args.cases} cases, 50 ms server, concurrency 50: {wall:.2f} s wall, "
                f"{rss:.0f} MB peak RSS, {_CPU[-1]:.2f} s CPU, exit {code}  (target < 1.6 s) "
                f"{'ok' if ok else 'SLOW'}"
            )
            if code != 0:
                print(out[-2000:])
            wall, rss, code, _ = _run(root)
            ok = code == 0 and wall < 1.0
            failed |= not ok
            print(
                f"{args.cases} cases, fully cached re-run:        {wall:.2f} s wall, "
                f"{rss:.0f} MB peak RSS, {_CPU[-1]:.2f} s CPU  (target < 1.0 s) "
                f"{'ok' if ok else 'SLOW'}"
            )
        if args.memory_cases:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                _project(root, url, args.memory_cases)
                wall, rss, code, _ = _run(root)
                ok = code == 0 and rss < 150
                failed |= not ok
                print(
                    f"{args.memory_cases} cases:                          {wall:.2f} s wall, "
                    f"{rss:.0f} MB peak RSS, {_CPU[-1]:.2f} s CPU  (target < 150 MB) "
                    f"{'ok' if ok else 'OVER'}"
                )
    finally:
        server.terminate()
        server.join()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
