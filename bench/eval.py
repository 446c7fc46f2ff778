"""The whole `promptctl test` process, start-up included, against local 50 ms servers.

Run: .venv/bin/python bench/eval.py [--runs 5] [--cases 1000] [--memory-cases 10000]
                                    [--c4] [--dataset-cases 100000]

Each figure is the min and median of `--runs` processes: wall seconds, and the CPU the
promptctl process itself used (user + sys, from wait4), with the 1-minute load average
when it was taken. A shared machine moves wall figures by half a second; CPU and call
counts move much less, so read those first on a busy machine.

1. 1,000 cases (two deterministic assertions each) at concurrency 50, fresh cache, on
   each server (bench/overhead.py's raw asyncio server and the stdlib's threading
   `http.server`), next to a bare httpx2 client process sending the same 1,000 requests
   to the same server (the floor of any Python client: start-up, import, requests).
   Targets: <= 1.25 s wall, and <= 0.30 s over the bare client, whichever server.
2. The same command again, every answer cached. Target: <= 0.30 s.
3. One case from a warm cache. Target: <= 0.25 s.
4. 10,000 cases, fresh cache: wall, CPU and peak RSS. Targets: <= 11 s, <= 100 MB;
   per-case CPU (CPU at 10,000 - CPU at 1,000) / 9,000 <= 0.5 ms.
5. `--c4`: 1,000 cases at concurrency 4 (floor 12.5 s). Target: <= 12.9 s. Printed
   beside it: the same server's floor as measured (250 rounds of one request's latency,
   median of a raw socket sending one request at a time, and of four raw sockets at once),
   the bare httpx2 client at concurrency 4, and a minimal asyncio client in process (four
   streams, no HTTP library, no start-up): a machine whose loopback and timers make a
   50 ms server answer in 50.7 ms has a 12.67 s floor before a client has imported
   anything.
6. `--dataset-cases N`: N cases from one JSONL dataset against a zero-latency server:
   peak RSS must stay bounded (compare N=10,000 with N=100,000).

Each `promptctl test` runs with its own parse cache (promptfile/parse_cache.py): the
figures are for files parsed by an earlier run (a re-run, or files a change did not
touch), and the lines "files never parsed before" for an empty parse cache (a fresh CI
machine). Servers run in their own processes so their CPU does not count against
promptctl's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import BODY, HEADERS, SERVERS, start_server

TESTS_PER_FILE = 50
PROMPT_HEAD = (
    "version: 1.0.0\n"
    "model: {use: openai/gpt-4o-mini, params: {temperature: 0, max_tokens: 5}}\n"
    "inputs:\n  question: {type: string}\n"
    "messages:\n  - system: Answer in one word.\n  - user: '{{ question }}'\n"
)


def _config(root: Path, url: str, concurrency: int) -> None:
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{url}', api_key_env: OPENAI_API_KEY,"
        f" max_concurrency: {concurrency}}}\n"
    )


def _project(root: Path, url: str, cases: int, concurrency: int = 50) -> None:
    _config(root, url, concurrency)
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
        (prompts / f"p{f:03d}.yaml").write_text(f"id: bench/p{f:03d}\n{PROMPT_HEAD}tests:\n{tests}")


def _dataset_project(root: Path, url: str, cases: int) -> None:
    _config(root, url, 50)
    (root / "evals").mkdir()
    with (root / "evals" / "rows.jsonl").open("w") as fh:
        for i in range(cases):
            fh.write(json.dumps({"name": f"row {i}", "vars": {"question": f"q {i}"}}) + "\n")
    (root / "prompts").mkdir()
    (root / "prompts" / "data.yaml").write_text(
        f"id: bench/data\n{PROMPT_HEAD}"
        "tests:\n  - dataset: ../evals/rows.jsonl\n"
        "    assert:\n      - {type: contains, value: ok}\n"
    )


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    load: float


def _process(
    cmd: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> tuple[Sample, int, str]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-not-a-real-key", **(extra_env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    sample = Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, _load())
    return sample, os.waitstatus_to_exitcode(status), output


def _load() -> float:
    return os.getloadavg()[0]


# The parse cache (promptfile/parse_cache.py) of every run: WARM holds the parse of the
# bench's prompt files once a run has read them; a "cold" run gets an empty folder.
_PARSED = Path(tempfile.mkdtemp(prefix="promptctl-bench-parsed-"))
WARM = _PARSED / "warm"


def _cold() -> Path:
    folder = _PARSED / "cold"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _promptctl(
    root: Path, concurrency: int = 50, *extra: str, parsed: Path | None = None
) -> Sample:
    """One `promptctl test` process; `parsed`: its parse cache (default: WARM)."""
    exe = Path(sys.executable).parent / "promptctl"
    cmd = [str(exe), "test", "--quiet", "--concurrency", str(concurrency), *extra]
    env = {"PROMPTCTL_CACHE_DIR": str(parsed or WARM)}
    sample, code, out = _process([*cmd, "--project", str(root)], root, env)
    if code != 0:
        raise SystemExit(f"promptctl test exited {code}:\n{out[-2000:]}")
    return sample


_BARE = """
import asyncio, json, sys
import httpx2
url, n, body, headers = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), json.loads(sys.argv[4])
async def main():
    limits = httpx2.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx2.AsyncClient(limits=limits) as client:
        sem = asyncio.Semaphore(50)
        async def one():
            async with sem:
                r = await client.post(url, content=body, headers=headers)
                json.loads(r.content)
        await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main())
"""


def _raw_latency(url: str, n: int = 40) -> float:
    """Median seconds of one request over a raw keep-alive socket, one at a time: what the
    server itself takes (its timer, its parsing, the loopback), without any client."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    body = json.dumps(BODY).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}"
    request = (head + "\r\nContent-Type: application/json\r\n\r\n").encode() + body
    times = []
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            start = time.perf_counter()
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            top, rest = data.split(b"\r\n\r\n", 1)
            length = next(
                int(line.split(b":")[1])
                for line in top.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(rest) < length:
                rest += sock.recv(65536)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _raw_latency_parallel(url: str, sockets: int, n: int = 40) -> float:
    """`_raw_latency` on `sockets` keep-alive sockets at once (one thread each, no
    imports, no event loop): the median of their medians. What the server takes when
    four requests are in flight, as in a @c4 run."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(sockets) as pool:
        medians = list(pool.map(lambda _: _raw_latency(url, n), range(sockets)))
    return statistics.median(medians)


async def _minimal_client(url: str, n: int, concurrency: int) -> float:
    """Seconds for `n` requests on `concurrency` asyncio streams, one pre-encoded request
    each, the answer's head and body read and its JSON decoded: what the requests cost a
    Python client that does nothing else (no start-up, no HTTP library, no cases)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    body = json.dumps(BODY).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}"
    request = (head + "\r\nContent-Type: application/json\r\n\r\n").encode() + body

    async def stream(count: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(count):
            writer.write(request)
            top = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in top.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            json.loads(await reader.readexactly(length))
        writer.close()

    start = time.perf_counter()
    share, extra = divmod(n, concurrency)
    await asyncio.gather(*(stream(share + (i < extra)) for i in range(concurrency)))
    return time.perf_counter() - start


def _bare(url: str, n: int, concurrency: int = 50) -> Sample:
    """A bare httpx2 client process: the same requests, nothing else."""
    cmd = [
        sys.executable,
        "-c",
        _BARE.replace("Semaphore(50)", f"Semaphore({concurrency})"),
        url + "/chat/completions",
        str(n),
        json.dumps(BODY),
        json.dumps(HEADERS),
    ]
    sample, code, out = _process(cmd, Path.cwd())
    if code != 0:
        raise SystemExit(f"bare client failed:\n{out[-2000:]}")
    return sample


def _line(label: str, samples: list[Sample], target: float | None = None) -> bool:
    walls = [s.wall for s in samples]
    cpus = [s.cpu for s in samples]
    ok = target is None or min(walls) <= target
    goal = f"  (target <= {target} s) {'ok' if ok else 'SLOW'}" if target is not None else ""
    print(
        f"{label:<44} wall min {min(walls):5.2f} med {statistics.median(walls):5.2f} s, "
        f"CPU min {min(cpus):5.2f} med {statistics.median(cpus):5.2f} s, "
        f"RSS {max(s.rss_mb for s in samples):4.0f} MB, "
        f"load {min(s.load for s in samples):.1f}-{max(s.load for s in samples):.1f}{goal}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--memory-cases", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5, help="processes per figure")
    parser.add_argument("--c4", action="store_true", help="also 1,000 cases at concurrency 4")
    parser.add_argument("--dataset-cases", type=int, default=0)
    args = parser.parse_args()
    ok = True
    fresh_cpu: list[float] = []
    cold_cpu: list[float] = []
    for name, start in SERVERS.items():
        url, server = start(0.05)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                _project(root, url, args.cases)
                fresh: list[Sample] = []
                cold: list[Sample] = []
                cached: list[Sample] = []
                bare: list[Sample] = []
                _promptctl(root, parsed=WARM)  # the files' parse, as any earlier run leaves it
                for _ in range(args.runs):  # interleaved: load hits all four alike
                    shutil.rmtree(root / ".promptctl", ignore_errors=True)
                    cold.append(_promptctl(root, parsed=_cold()))
                    shutil.rmtree(root / ".promptctl", ignore_errors=True)
                    fresh.append(_promptctl(root))
                    cached.append(_promptctl(root))
                    bare.append(_bare(url, args.cases))
                print(f"-- {name} server, 50 ms latency, {args.cases} cases @c50")
                ok &= _line("bare httpx2 client process (floor)", bare)
                ok &= _line("promptctl test, fresh cache", fresh, 1.25)
                ok &= _line("  the same, files never parsed before", cold, 1.25)
                for label, runs in (("", fresh), (", never parsed", cold)):
                    over = min(s.wall for s in runs) - min(s.wall for s in bare)
                    label = f"  over the bare client (min - min{label})"
                    print(f"{label:<44} {over:+.2f} s  (target <= 0.30 s)")
                    ok &= over <= 0.30
                ok &= _line("promptctl test, fully cached re-run", cached, 0.30)
                if name == "asyncio":
                    fresh_cpu = [s.cpu for s in fresh]
                    cold_cpu = [s.cpu for s in cold]
                    one = [
                        _promptctl(root, 50, "bench/p000", "--test", "case 0")
                        for _ in range(args.runs)
                    ]
                    ok &= _line("promptctl test, 1 case from a warm cache", one, 0.25)
        finally:
            server.terminate()
            server.join()
    url, server = start_server(0.05)
    try:
        if args.c4:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                _project(root, url, args.cases, concurrency=4)
                print(f"-- asyncio server, {args.cases} cases @c4 (floor 12.5 s)")
                ok &= _line("promptctl test, fresh cache", [_promptctl(root, 4)], 12.9)
                _line("bare httpx2 client process @c4", [_bare(url, args.cases, 4)])
                one = _raw_latency(url)
                rounds = -(-args.cases // 4)
                print(
                    f"{'  this server floor (raw socket, one at a time)':<44} "
                    f"{one * 1000:.1f} ms a request x {rounds} rounds = {one * rounds:.2f} s"
                )
                four = _raw_latency_parallel(url, 4)
                print(
                    f"{'  the same, 4 raw sockets at once (threads)':<44} "
                    f"{four * 1000:.1f} ms a request x {rounds} rounds = {four * rounds:.2f} s"
                )
                minimal = asyncio.run(_minimal_client(url, args.cases, 4))
                print(
                    f"{'  a minimal asyncio client, in process':<44} {minimal:.2f} s "
                    "(4 streams, no HTTP library, no start-up)"
                )
        if args.memory_cases:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                _project(root, url, args.memory_cases)
                big_cold = _promptctl(root, parsed=_cold())
                shutil.rmtree(root / ".promptctl", ignore_errors=True)
                big = _promptctl(root)  # WARM now holds the parse of the 1,000-case files
                shutil.rmtree(root / ".promptctl", ignore_errors=True)
                big = _promptctl(root)  # ... and of these
                print(f"-- asyncio server, {args.memory_cases} cases @c50")
                ok &= _line("promptctl test, fresh cache", [big], 11.0)
                ok &= _line("  the same, files never parsed before", [big_cold], 11.0)
                rss_ok = max(big.rss_mb, big_cold.rss_mb) <= 100
                print(f"{'  peak RSS':<44} {big.rss_mb:.0f} MB  (target <= 100 MB)")
                ok &= rss_ok
                for label, ten_k, one_k in (
                    ("", big, fresh_cpu),
                    (", never parsed", big_cold, cold_cpu),
                ):
                    if not one_k:
                        continue
                    per_case = (ten_k.cpu - min(one_k)) / (args.memory_cases - args.cases)
                    label = f"  per-case CPU (10k - 1k) / 9k{label}"
                    print(f"{label:<44} {per_case * 1000:.2f} ms  (target <= 0.5 ms)")
                    ok &= per_case <= 0.0005
    finally:
        server.terminate()
        server.join()
    if args.dataset_cases:
        url, server = start_server(0.0)
        try:
            for n in sorted({min(10_000, args.dataset_cases), args.dataset_cases}):
                with tempfile.TemporaryDirectory() as tmp:
                    root = Path(tmp)
                    _dataset_project(root, url, n)
                    print(f"-- {n} cases from one dataset file, zero-latency server")
                    _line("promptctl test, fresh cache", [_promptctl(root)])
        finally:
            server.terminate()
            server.join()
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        shutil.rmtree(_PARSED, ignore_errors=True)
