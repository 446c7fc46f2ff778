"""HTTP client choice and promptctl's added time per call.

Run: .venv/bin/python bench/overhead.py [--quick]

1. Pools: 1,000 requests at concurrency 50 to a local server answering after 50 ms, against
   two servers (a raw asyncio one and the stdlib's threading `http.server`), one option per
   row: httpx2's own pool (one client of 50 connections, or five of 10), the bare httpcore2
   pool without the httpx2 layer, httpx2 over promptctl's `PooledTransport` (its own
   HTTP/1.1 connections), `PooledClient.post_bytes` (what a provider call uses), and
   httpx and aiohttp when installed (for comparison only; not dependencies). Prints
   wall time and client CPU per request, best of 3 (the server runs in its own process).
2. Overhead: Gateway.complete (live mode, no cache) vs a raw `post_bytes` of the same body
   (the provider path's HTTP alone) to a zero-latency local server, at concurrency 1 and
   50; prints µs added per call.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import selectors
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


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request off a keep-alive connection: its head, then its body (returned)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length)


async def _serve(sock: socket.socket, latency: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
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
    # select(), not epoll: asyncio's epoll selector rounds every wait up to a whole
    # millisecond (`selectors.EpollSelector.select`), so answers due within the same
    # millisecond wake together and each waits up to 1 ms late: measured inside this
    # server, a median of 50.7 ms for "50 ms" at concurrency 4, with answers bunched on
    # millisecond ticks; select() waits to the microsecond (50.1 ms). A real provider's
    # latency is not quantised, and a bunch of answers makes the client serve them one
    # after the other. (select() takes file descriptors below 1024: enough here.)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        loop.run_until_complete(_serve(sock, latency))
    finally:
        loop.close()


def start_server(latency: float) -> tuple[str, multiprocessing.Process]:
    """The raw asyncio server in its own process; returns its base URL."""
    return _start(_server_main, latency)


def _threading_main(sock: socket.socket, latency: float) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as every provider's server does

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            if latency:
                time.sleep(latency)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(REPLY)))
            self.end_headers()
            self.wfile.write(REPLY)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.daemon_threads = True
    server.serve_forever()


def start_threading_server(latency: float) -> tuple[str, multiprocessing.Process]:
    """The stdlib's threading `http.server` (a thread per connection) in its own process."""
    return _start(_threading_main, latency)


SERVERS = {"asyncio": start_server, "threading": start_threading_server}


def _start(main: Any, latency: float) -> tuple[str, multiprocessing.Process]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    proc = multiprocessing.Process(target=main, args=(sock, latency), daemon=True)
    proc.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", proc


BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}
HEADERS = {"content-type": "application/json", "authorization": "Bearer x"}


def _httpx_clients(lib: Any, clients: int, per: int) -> tuple[list[Any], Any]:
    pool = [
        lib.AsyncClient(limits=lib.Limits(max_connections=per, max_keepalive_connections=per))
        for _ in range(clients)
    ]

    async def post(i: int, url: str, content: bytes) -> None:
        r = await pool[i % clients].post(url, content=content, headers=HEADERS)
        r.raise_for_status()

    async def close() -> None:
        for c in pool:
            await c.aclose()

    return [post], close


def _pooled_transport(per: int) -> tuple[list[Any], Any]:
    from promptctl.providers._transport import PooledClient

    client = PooledClient(per)

    async def post(i: int, url: str, content: bytes) -> None:
        r = await client.post(url, content=content, headers=HEADERS)
        r.raise_for_status()

    return [post], client.aclose


def _post_bytes(per: int) -> tuple[list[Any], Any]:
    """What a provider call does: the same bytes out, no httpx2 request/response objects."""
    from promptctl.providers._transport import PooledClient

    client = PooledClient(per)

    async def post(i: int, url: str, content: bytes) -> None:
        r = await client.post_bytes(url, headers=HEADERS, content=content, timeout=60.0)
        assert r.status_code == 200

    return [post], client.aclose


def _bare_httpcore2(per: int) -> tuple[list[Any], Any]:
    import httpcore2

    pool = httpcore2.AsyncConnectionPool(max_connections=per, max_keepalive_connections=per)
    headers = list(HEADERS.items())

    async def post(i: int, url: str, content: bytes) -> None:
        r = await pool.request("POST", url, headers=headers, content=content)
        assert r.status == 200

    return [post], pool.aclose


def _aiohttp(per: int) -> tuple[list[Any], Any]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=per))

    async def post(i: int, url: str, content: bytes) -> None:
        async with session.post(url, data=content, headers=HEADERS) as r:
            r.raise_for_status()
            await r.read()

    return [post], session.close


def _options() -> dict[str, Any]:
    import httpx2

    options: dict[str, Any] = {
        "httpx2 1 client  x 50 conns": lambda: _httpx_clients(httpx2, 1, 50),
        "httpx2 5 clients x 10 conns": lambda: _httpx_clients(httpx2, 5, 10),
        "bare httpcore2 pool (50)": lambda: _bare_httpcore2(50),
        "httpx2 + PooledTransport (50)": lambda: _pooled_transport(50),
        "PooledClient.post_bytes (50)": lambda: _post_bytes(50),
    }
    try:  # httpx 0.28/0.29: the library httpx2 forked, for comparison (not a dependency)
        import httpx

        options["httpx  5 clients x 10 conns, not a dependency"] = lambda: _httpx_clients(
            httpx, 5, 10
        )
    except ImportError:
        pass
    try:
        import aiohttp  # noqa: F401

        options["aiohttp (50), not a dependency"] = lambda: _aiohttp(50)
    except ImportError:
        pass
    return options


async def _pool_run(make: Any, url: str, n: int, concurrency: int) -> tuple[float, float]:
    (post,), close = make()
    content = json.dumps(BODY).encode()
    target = url + "/chat/completions"
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await post(i, target, content)

    await asyncio.gather(*(one(i) for i in range(min(n, 100))))  # warm up connections
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await close()
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
            r = await raw.post_bytes(
                url + "/chat/completions", content=content, headers=headers, timeout=60.0
            )
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
    quick = "--quick" in sys.argv
    n = 300 if quick else 1000
    for name, start in SERVERS.items():
        url, proc = start(0.05)
        try:
            print(
                f"1) {n} requests, concurrency 50, {name} server, latency 50 ms"
                f" (floor {n / 50 * 0.05:.2f} s), best of 3"
            )
            for label, make in _options().items():
                runs = [asyncio.run(_pool_run(make, url, n, 50)) for _ in range(3)]
                wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
                print(
                    f"   {label:32} wall {wall:5.2f} s, client CPU {cpu / n * 1000:5.2f} ms/request"
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
