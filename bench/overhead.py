"""HTTP client choice and promptctl's added time per call.

Run: .venv/bin/python bench/overhead.py [--quick]

1. Pools: 1,000 requests at concurrency 50 to a local server answering after 50 ms, with
   httpx and httpx2, one client of 50 connections vs five clients of 10. Prints wall time
   and client CPU per request (the server runs in its own process).
2. Overhead: Gateway.complete (live mode, no cache) vs a raw client.post of the same body
   to a zero-latency local server, at concurrency 1 and 50; prints µs added per call.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

REPLY = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(REPLY)).encode()
    + b"\r\n\r\n"
    + REPLY
)


async def _serve(sock: socket.socket, latency: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if latency:
                    await asyncio.sleep(latency)
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, sock=sock, backlog=512)
    async with server:
        await server.serve_forever()


def _server_main(sock: socket.socket, latency: float) -> None:
    asyncio.run(_serve(sock, latency))


def start_server(latency: float) -> tuple[str, multiprocessing.Process]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    proc = multiprocessing.Process(target=_server_main, args=(sock, latency), daemon=True)
    proc.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", proc


BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}


async def _pool_run(
    lib: Any, url: str, n: int, concurrency: int, clients: int
) -> tuple[float, float]:
    per = concurrency // clients
    pool = [
        lib.AsyncClient(limits=lib.Limits(max_connections=per, max_keepalive_connections=per))
        for _ in range(clients)
    ]
    content = json.dumps(BODY).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer x"}
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            r = await pool[i % clients].post(
                url + "/chat/completions", content=content, headers=headers
            )
            r.raise_for_status()

    await asyncio.gather(*(one(i) for i in range(min(n, 100))))  # warm up connections
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for c in pool:
        await c.aclose()
    return wall, cpu


async def _overhead(url: str, n: int, concurrency: int) -> tuple[float, float, float, float]:
    from promptctl.plan.request import ChatRequest
    from promptctl.promptfile.chat import ChatMessage
    from promptctl.promptfile.model import Project, ProviderSettings
    from promptctl.providers import _http
    from promptctl.providers.gateway import Gateway

    settings = ProviderSettings(
        "openai", "openai", url, "OPENAI_API_KEY", max_concurrency=concurrency
    )
    project = Project(root=Path("/nonexistent"), providers={"openai": settings})
    gateway = Gateway(project, mode="live", use_cache=False, env={"OPENAI_API_KEY": "sk-bench"})
    request = ChatRequest("openai", "gpt-4o-mini", (ChatMessage("user", "Hi"),), max_tokens=5)
    raw = _http.new_client(concurrency)
    content = json.dumps(BODY).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    sem = asyncio.Semaphore(concurrency)

    async def raw_call() -> None:
        async with sem:
            r = await raw.post(url + "/chat/completions", content=content, headers=headers)
            json.loads(r.content)

    async def gw_call() -> None:
        async with sem:
            await gateway.complete(request)

    async def timed(fn: Any) -> tuple[float, float]:
        await asyncio.gather(*(fn() for _ in range(100)))
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(fn() for _ in range(n)))
        return (time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6

    raw_runs, gw_runs = [], []
    for _ in range(5):  # interleaved, best of 5: the machine's noise hits both alike
        raw_runs.append(await timed(raw_call))
        gw_runs.append(await timed(gw_call))
    await raw.aclose()
    await gateway.aclose()
    return (
        min(r[0] for r in raw_runs),
        min(g[0] for g in gw_runs),
        min(r[1] for r in raw_runs),
        min(g[1] for g in gw_runs),
    )


def main() -> None:
    import httpx
    import httpx2

    quick = "--quick" in sys.argv
    n = 300 if quick else 1000
    url, proc = start_server(0.05)
    try:
        print(
            f"1) {n} requests, concurrency 50, server latency 50 ms (floor {n / 50 * 0.05:.2f} s)"
        )
        for lib in (httpx, httpx2):
            for clients in (1, 5):
                wall, cpu = asyncio.run(_pool_run(lib, url, n, 50, clients))
                print(
                    f"   {lib.__name__:6} {clients} client(s) x {50 // clients:2} conns: "
                    f"wall {wall:5.2f} s, client CPU {cpu / n * 1000:5.2f} ms/request"
                )
    finally:
        proc.terminate()
    url, proc = start_server(0.0)
    try:
        print("2) promptctl Gateway vs raw client call, zero-latency server (best of 5)")
        for concurrency in (1, 50):
            raw_w, gw_w, raw_c, gw_c = asyncio.run(_overhead(url, n, concurrency))
            print(
                f"   concurrency {concurrency:2}: wall raw {raw_w:6.1f} gateway {gw_w:6.1f}"
                f" (+{gw_w - raw_w:5.1f}) µs/call; CPU raw {raw_c:6.1f} gateway {gw_c:6.1f}"
                f" (+{gw_c - raw_c:5.1f}) µs/call"
            )
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
