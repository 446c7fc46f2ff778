"""Streaming: what `Runtime.astream`/`stream` add over reading the raw SSE with bare httpx2.

Run through bench/runtime.py (items 5 and 6), or alone: .venv/bin/python bench/_streaming.py
(the underscore keeps `python -m bench` from running it twice)

A local server (its own process) answers every POST with N OpenAI `chat.completion.chunk`
events (one HTTP chunk each, no delay), the usage chunk and `[DONE]`. The baseline is
what an application would write by hand: `httpx2` `client.stream(...)`, `aiter_lines()`,
`json.loads` of each `data:` line and the delta's `content`.

5. Overhead per chunk: the runtime's extra CPU time per event (the client's process time;
   the server has its own process), as the slope between streams of N=50 and N=1,000
   events (so the per-call overhead of bench/runtime.py's item 3 cancels out); median of
   5 rounds, runtime and raw calls interleaved. Target ≤ 20 µs per chunk.
6. Time to first token added: from the call to the first text delta, runtime minus raw,
   median of 300 calls, as wall time and as this process's CPU time (the wall figure
   grows with other load on the machine, the CPU one hardly). Target ≤ 300 µs.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.overhead import read_request

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _events(n: int) -> list[bytes]:
    head = {"id": "chatcmpl-b", "object": "chat.completion.chunk", "created": 0}
    head["model"] = "gpt-4o-mini"
    out = []
    for i in range(n):
        choice = {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}
        out.append(f"data: {json.dumps({**head, 'choices': [choice]})}\n\n".encode())
    done = {"index": 0, "delta": {}, "finish_reason": "stop"}
    out.append(f"data: {json.dumps({**head, 'choices': [done]})}\n\n".encode())
    usage = {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n}
    out.append(f"data: {json.dumps({**head, 'choices': [], 'usage': usage})}\n\n".encode())
    out.append(b"data: [DONE]\n\n")
    return [_chunk(e) for e in out] + [b"0\r\n\r\n"]


async def _serve(sock: socket.socket, n: int) -> None:
    chunks = _events(n)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
        try:
            while True:
                await read_request(reader)
                writer.write(HEAD)
                for chunk in chunks:  # one send per event, as a model's tokens come
                    writer.write(chunk)
                    await writer.drain()
                    await asyncio.sleep(0)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, sock=sock, backlog=64)
    async with server:
        await server.serve_forever()


def _server_main(sock: socket.socket, n: int) -> None:
    asyncio.run(_serve(sock, n))


def start_sse_server(n: int) -> tuple[str, multiprocessing.Process]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    proc = multiprocessing.Process(target=_server_main, args=(sock, n), daemon=True)
    proc.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", proc


def _raw_body(rt: Any) -> bytes:
    messages = rt.render("app/p0500", ticket="My invoice is wrong")
    body = {"model": "gpt-4o-mini", "messages": messages, "temperature": 0, "max_tokens": 5}
    body |= {"stream": True, "stream_options": {"include_usage": True}}
    return json.dumps(body).encode()


HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
# (raw CPU µs per call, runtime CPU µs per call, per call: the runtime's added time to the
# first token as (wall µs, CPU µs))
Round = tuple[float, float, list[tuple[float, float]]]


async def _async_round(path: Path, url: str, calls: int) -> Round:
    """One `Round`. CPU time is this process's: the server runs in its own, and other
    load on the machine stretches wall time but not the work done."""
    import httpx2

    from promptctl.runtime import Runtime

    rt = Runtime.load(path, ledger=False, env={"OPENAI_API_KEY": "sk-bench"},
                      providers={"openai": {"base_url": url}})  # fmt: skip
    body = _raw_body(rt)
    raw = httpx2.AsyncClient()

    async def raw_call() -> tuple[float, float]:
        started, cpu0 = time.perf_counter(), time.process_time()
        first = (0.0, 0.0)
        async with raw.stream("POST", url + "/chat/completions", content=body,
                              headers=HEADERS) as resp:  # fmt: skip
            async for line in resp.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    continue  # read to the end: the connection goes back to the pool
                obj = json.loads(data)
                choices = obj["choices"]
                if choices and choices[0]["delta"].get("content") and not first[0]:
                    first = (time.perf_counter() - started, time.process_time() - cpu0)
        return first

    async def rt_call() -> tuple[float, float]:
        started, cpu0 = time.perf_counter(), time.process_time()
        first = (0.0, 0.0)
        async for chunk in rt.astream("app/p0500", ticket="My invoice is wrong"):
            if not first[0] and type(chunk) is str:
                first = (time.perf_counter() - started, time.process_time() - cpu0)
        return first

    for _ in range(20):
        await raw_call()
        await rt_call()
    ttft: list[tuple[float, float]] = []
    raw_t = rt_t = 0.0
    for _ in range(calls):
        t0 = time.process_time()
        raw_first = await raw_call()
        t1 = time.process_time()
        rt_first = await rt_call()
        t2 = time.process_time()
        raw_t += t1 - t0
        rt_t += t2 - t1
        ttft.append(((rt_first[0] - raw_first[0]) * 1e6, (rt_first[1] - raw_first[1]) * 1e6))
    await raw.aclose()
    await rt.aclose()
    rt.close()
    return raw_t / calls * 1e6, rt_t / calls * 1e6, ttft


def _sync_round(path: Path, url: str, calls: int) -> Round:
    import httpx2

    from promptctl.runtime import Runtime

    rt = Runtime.load(path, ledger=False, env={"OPENAI_API_KEY": "sk-bench"},
                      providers={"openai": {"base_url": url}})  # fmt: skip
    body = _raw_body(rt)
    raw = httpx2.Client()

    def raw_call() -> tuple[float, float]:
        started, cpu0 = time.perf_counter(), time.process_time()
        first = (0.0, 0.0)
        with raw.stream("POST", url + "/chat/completions", content=body,
                        headers=HEADERS) as resp:  # fmt: skip
            for line in resp.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    continue  # read to the end: the connection goes back to the pool
                obj = json.loads(data)
                choices = obj["choices"]
                if choices and choices[0]["delta"].get("content") and not first[0]:
                    first = (time.perf_counter() - started, time.process_time() - cpu0)
        return first

    def rt_call() -> tuple[float, float]:
        started, cpu0 = time.perf_counter(), time.process_time()
        first = (0.0, 0.0)
        for chunk in rt.stream("app/p0500", ticket="My invoice is wrong"):
            if not first[0] and type(chunk) is str:
                first = (time.perf_counter() - started, time.process_time() - cpu0)
        return first

    for _ in range(20):
        raw_call()
        rt_call()
    ttft: list[tuple[float, float]] = []
    raw_t = rt_t = 0.0
    for _ in range(calls):
        t0 = time.process_time()
        raw_first = raw_call()
        t1 = time.process_time()
        rt_first = rt_call()
        t2 = time.process_time()
        raw_t += t1 - t0
        rt_t += t2 - t1
        ttft.append(((rt_first[0] - raw_first[0]) * 1e6, (rt_first[1] - raw_first[1]) * 1e6))
    raw.close()
    rt.close()
    return raw_t / calls * 1e6, rt_t / calls * 1e6, ttft


def _per_chunk(
    run: Callable[[Path, str, int], Round],
    path: Path,
    urls: dict[int, str],
    calls: int,
) -> tuple[float, float, float]:
    """(raw µs per chunk, runtime µs per chunk, added µs per chunk): medians of 5 slopes
    (each round's runtime and raw calls interleaved, so load hits both alike)."""
    (small, url_s), (large, url_l) = sorted(urls.items())
    rows = []
    for _ in range(5):
        raw_s, rt_s, _ = run(path, url_s, calls)
        raw_l, rt_l, _ = run(path, url_l, max(5, calls // 10))
        raw_slope = (raw_l - raw_s) / (large - small)
        rt_slope = (rt_l - rt_s) / (large - small)
        rows.append((raw_slope, rt_slope, rt_slope - raw_slope))
    raw, rt, added = (statistics.median(col) for col in zip(*rows, strict=True))
    return raw, rt, added


def report(path: Path, quick: bool) -> None:
    """Items 5 and 6 of bench/runtime.py over a bundle whose prompt `app/p0500` exists."""
    sizes = (50, 1000)
    servers = {n: start_sse_server(n) for n in sizes}
    try:
        urls = {n: url for n, (url, _) in servers.items()}
        calls = 40 if quick else 100

        def arun(p: Path, u: str, c: int) -> Round:
            return asyncio.run(_async_round(p, u, c))

        print("5) streaming, CPU per chunk (slope from 50 to 1,000 events, median of 5):")
        for name, fn in (("astream", arun), ("stream ", _sync_round)):
            raw, rt, added = _per_chunk(fn, path, urls, calls)
            print(
                f"   {name}: raw httpx2 {raw:5.2f} µs/chunk, runtime {rt:5.2f} µs/chunk"
                f" (+{added:5.2f} µs/chunk)"
            )
        print("6) streaming, time to first token added (median of runtime minus raw per call):")
        n = 100 if quick else 300
        for name, fn in (("astream", arun), ("stream ", _sync_round)):
            _, _, ttft = fn(path, urls[50], n)
            wall = statistics.median(t[0] for t in ttft)
            cpu = statistics.median(t[1] for t in ttft)
            print(f"   {name}: +{wall:6.1f} µs wall, +{cpu:6.1f} µs CPU")
    finally:
        for _, proc in servers.values():
            proc.terminate()


if __name__ == "__main__":
    import logging
    import tempfile

    from bench.runtime import _write  # the same signed bundle as bench/runtime.py

    logging.getLogger("promptctl.runtime").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "releases"
        _write(bundle, 1000, "http://127.0.0.1:9/v1", Path(tmp) / "keys")
        report(bundle, "--quick" in sys.argv)
