"""Embeddings: what `Runtime.embed` / `aembed` add over a raw HTTP call and its decode.

Run through bench/runtime.py (item 7), or alone: .venv/bin/python bench/embed.py

A local server (its own process) answers every POST with 16 vectors of 1,536 float32,
base64-encoded as OpenAI sends them for `encoding_format: base64`. The baseline is what
an application would write by hand: an httpx2 post of the same body, `json.loads`, and
base64 to float lists. Concurrency 1, runtime and raw calls interleaved, best of 5, in
this process's CPU time per call (on a shared machine the wall clock measures the
neighbours; the server runs in its own process, so its time is not counted).
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.overhead import read_request

ENV = {"OPENAI_API_KEY": "sk-bench"}


EMBED_TEXTS = [f"support article {i}: how refunds, shipping and invoices work" for i in range(16)]
EMBED_DIMS = 1536


def _embed_reply() -> bytes:
    vector = base64.b64encode(
        struct.pack(f"<{EMBED_DIMS}f", *(i / EMBED_DIMS for i in range(EMBED_DIMS)))
    ).decode()
    reply = json.dumps(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [
                {"object": "embedding", "index": i, "embedding": vector}
                for i in range(len(EMBED_TEXTS))
            ],
            "usage": {"prompt_tokens": 160, "total_tokens": 160},
        }
    ).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(reply)}"
    return head.encode() + b"\r\n\r\n" + reply


def _embed_server_main(sock: socket.socket) -> None:
    response = _embed_reply()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, sock=sock, backlog=64)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def _start_embed_server() -> tuple[str, multiprocessing.Process]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    proc = multiprocessing.Process(target=_embed_server_main, args=(sock,), daemon=True)
    proc.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", proc


def _decode(content: bytes) -> list[list[float]]:
    """What any client does with the answer: parse, and float32 base64 to float lists."""
    from array import array

    out = []
    for item in json.loads(content)["data"]:
        floats = array("f")
        floats.frombytes(base64.b64decode(item["embedding"]))
        out.append(floats.tolist())
    return out


def bench_embed(path: Path, url: str, n: int) -> tuple[float, float, float, float]:
    """(raw sync, rt.embed, raw async, rt.aembed) µs per call; see 4) above."""
    import httpx2

    from promptctl.runtime import Runtime

    model = "openai/text-embedding-3-small"
    body = json.dumps(
        {"model": "text-embedding-3-small", "input": EMBED_TEXTS, "encoding_format": "base64"}
    ).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    providers = {"openai": {"base_url": url}}
    rt = Runtime.load(path, ledger=False, env=ENV, providers=providers)
    raw = httpx2.Client()

    def timed(fn: Any) -> float:
        for _ in range(30):
            fn()
        started = time.process_time()
        for _ in range(n):
            fn()
        return (time.process_time() - started) / n * 1e6

    def raw_call() -> None:
        vectors = _decode(raw.post(url + "/embeddings", content=body, headers=headers).content)
        assert len(vectors) == 16

    def rt_call() -> None:
        assert rt.embed(EMBED_TEXTS, model=model).dimensions == EMBED_DIMS

    raw_s, rt_s = [], []
    for _ in range(5):
        raw_s.append(timed(raw_call))
        rt_s.append(timed(rt_call))
    raw.close()

    async def run_async() -> tuple[float, float]:
        client = httpx2.AsyncClient()

        async def a_timed(fn: Any) -> float:
            for _ in range(30):
                await fn()
            started = time.process_time()
            for _ in range(n):
                await fn()
            return (time.process_time() - started) / n * 1e6

        async def raw_a() -> None:
            answer = await client.post(url + "/embeddings", content=body, headers=headers)
            assert len(_decode(answer.content)) == 16

        async def rt_a() -> None:
            assert (await rt.aembed(EMBED_TEXTS, model=model)).dimensions == EMBED_DIMS

        raws, rts = [], []
        for _ in range(5):
            raws.append(await a_timed(raw_a))
            rts.append(await a_timed(rt_a))
        await client.aclose()
        await rt.aclose()
        return min(raws), min(rts)

    raw_a, rt_a = asyncio.run(run_async())
    rt.close()
    return min(raw_s), min(rt_s), raw_a, rt_a


def report(path: Path, quick: bool) -> None:
    """Item 7 of bench/runtime.py over a bundle (any prompts; only its providers matter)."""
    url, proc = _start_embed_server()
    try:
        raw_e, rt_e, raw_ae, rt_ae = bench_embed(path, url, 150 if quick else 500)
    finally:
        proc.terminate()
    print(
        f"7) embed 16 texts x {EMBED_DIMS} dims, zero-latency server, CPU µs, best of 5:\n"
        f"   embed:  raw httpx2 + decode {raw_e:6.1f} µs, runtime {rt_e:6.1f} µs"
        f" (+{rt_e - raw_e:5.1f} µs/call)\n"
        f"   aembed: raw httpx2 + decode {raw_ae:6.1f} µs, runtime {rt_ae:6.1f} µs"
        f" (+{rt_ae - raw_ae:5.1f} µs/call)"
    )


def main() -> None:
    import logging

    from bench.overhead import start_server
    from bench.runtime import _write

    logging.getLogger("promptctl.runtime").setLevel(logging.ERROR)
    url, proc = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "releases"
            _write(path, 10, url, Path(tmp) / "keys")
            report(path, "--quick" in sys.argv)
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
