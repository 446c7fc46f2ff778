"""The application runtime: load, render, and what `run` adds over a raw HTTP call.

Run: .venv/bin/python bench/runtime.py [--quick]

1. Load: `Runtime.load` of a release directory whose newest release is a signed bundle
   of 1,000 prompts (`latest`, the rollback scan, read, strict JSON, digest, content
   hashes, Ed25519 signature, Prompt objects); median of 7. Target under 200 ms.
2. Render: `rt.render(id, **inputs)` on one prompt, p50 / p99 of single calls.
   Target p50 under 50 µs.
3. Overhead per call against a zero-latency local server (bench/overhead.py's): `await
   rt.arun` vs a raw `httpx2.AsyncClient.post` of the same body, and `rt.run` (sync)
   vs a raw `httpx2.Client.post`; concurrency 1, interleaved, best of 5. Target under
   300 µs.
4. Embed overhead per call: `rt.embed` / `await rt.aembed` of 16 texts with
   openai/text-embedding-3-small against a zero-latency server answering 16 vectors of
   1,536 float32 (base64, as OpenAI does for `encoding_format: base64`), vs a raw httpx2
   post of the same body plus the decode any client needs (JSON, base64 to float lists);
   concurrency 1, interleaved, best of 5.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.overhead import start_server

ENV = {"OPENAI_API_KEY": "sk-bench"}


def _prompts(n: int) -> list[Any]:
    import dataclasses

    from promptctl.promptfile.hashing import content_hash
    from promptctl.promptfile.model import MessageTemplate, ModelConfig, OutputSpec, Prompt, Target

    out = []
    for i in range(n):
        out.append(
            Prompt(
                id=f"app/p{i:04d}",
                version="1.0.0",
                path=Path(f"prompts/app/p{i:04d}.yaml"),
                model=ModelConfig(
                    use="openai/gpt-4o-mini",
                    params={"temperature": 0, "max_tokens": 5},
                    fallbacks=(Target(use="openai/gpt-4o"),),
                ),
                messages=(
                    MessageTemplate(
                        role="system",
                        template="You triage support tickets for Acme. Reply in one word. " * 4,
                    ),
                    MessageTemplate(
                        role="user",
                        template="Tier: {{ tier }}\n<ticket>\n{{ ticket }}\n</ticket>",
                    ),
                ),
                status="approved",
                tags=("bench",),
                inputs={
                    "ticket": {"type": "string", "minLength": 1, "maxLength": 8000},
                    "tier": {"type": "string", "enum": ["free", "pro"], "default": "free"},
                },
                output=OutputSpec(),
            )
        )
    return [dataclasses.replace(p, content_hash=content_hash(p)) for p in out]


def _write(path: Path, n: int, base_url: str, key_dir: Path) -> Path:
    """Publish release 1 into the release directory `path`; returns the public key."""
    from promptctl.bundle.format import build_bundle, serialize
    from promptctl.bundle.release import ReleaseDir
    from promptctl.bundle.signing import generate_keypair, sign
    from promptctl.promptfile.model import ProviderSettings

    providers = {"openai": ProviderSettings("openai", "openai", base_url, "OPENAI_API_KEY")}
    doc = build_bundle(
        _prompts(n),
        providers=providers,
        eval_summaries={},
        git_commit=None,
        created_from="bench",
        sequence=1,
    )
    private, public = generate_keypair(key_dir)
    signed = sign(doc, private.read_bytes())
    ReleaseDir(path).publish(lambda _head: (signed, serialize(signed)))
    return public


def bench_load(path: Path, public: Path) -> float:
    from promptctl.runtime import Runtime

    times = []
    for _ in range(7):
        started = time.perf_counter()
        rt = Runtime.load(path, public_key=public, ledger=False, env=ENV)
        times.append(time.perf_counter() - started)
        rt.close()
    return statistics.median(times) * 1000


def bench_render(path: Path, n: int) -> tuple[float, float]:
    from promptctl.runtime import Runtime

    with Runtime.load(path, ledger=False, env=ENV) as rt:
        for _ in range(200):
            rt.render("app/p0500", ticket="My invoice is wrong")
        samples = []
        clock = time.perf_counter_ns
        for _ in range(n):
            started = clock()
            rt.render("app/p0500", ticket="My invoice is wrong")
            samples.append(clock() - started)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


async def _async_overhead(path: Path, url: str, n: int) -> tuple[float, float]:
    import httpx2

    from promptctl.runtime import Runtime

    rt = Runtime.load(path, ledger=False, env=ENV)
    messages = rt.render("app/p0500", ticket="My invoice is wrong")
    body = json.dumps(
        {"model": "gpt-4o-mini", "messages": messages, "temperature": 0, "max_tokens": 5}
    ).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    raw = httpx2.AsyncClient()

    async def raw_call() -> None:
        r = await raw.post(url + "/chat/completions", content=body, headers=headers)
        json.loads(r.content)

    async def rt_call() -> None:
        await rt.arun("app/p0500", ticket="My invoice is wrong")

    async def timed(fn: Any) -> float:
        for _ in range(50):
            await fn()
        started = time.perf_counter()
        for _ in range(n):
            await fn()
        return (time.perf_counter() - started) / n * 1e6

    raw_runs, rt_runs = [], []
    for _ in range(5):
        raw_runs.append(await timed(raw_call))
        rt_runs.append(await timed(rt_call))
    await raw.aclose()
    await rt.aclose()
    return min(raw_runs), min(rt_runs)


def _sync_overhead(path: Path, url: str, n: int) -> tuple[float, float]:
    import httpx2

    from promptctl.runtime import Runtime

    rt = Runtime.load(path, ledger=False, env=ENV)
    messages = rt.render("app/p0500", ticket="My invoice is wrong")
    body = json.dumps(
        {"model": "gpt-4o-mini", "messages": messages, "temperature": 0, "max_tokens": 5}
    ).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    raw = httpx2.Client()

    def raw_call() -> None:
        r = raw.post(url + "/chat/completions", content=body, headers=headers)
        json.loads(r.content)

    def rt_call() -> None:
        rt.run("app/p0500", ticket="My invoice is wrong")

    def timed(fn: Any) -> float:
        for _ in range(50):
            fn()
        started = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - started) / n * 1e6

    raw_runs, rt_runs = [], []
    for _ in range(5):
        raw_runs.append(timed(raw_call))
        rt_runs.append(timed(rt_call))
    raw.close()
    rt.close()
    return min(raw_runs), min(rt_runs)


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
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
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
        started = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - started) / n * 1e6

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
            started = time.perf_counter()
            for _ in range(n):
                await fn()
            return (time.perf_counter() - started) / n * 1e6

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


def main() -> None:
    import logging

    # the render/overhead runs load without a key on purpose: no "not verified" lines
    logging.getLogger("promptctl.runtime").setLevel(logging.ERROR)
    quick = "--quick" in sys.argv
    url, proc = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "releases"
            public = _write(path, 1000, url, Path(tmp) / "keys")
            size = sum(f.stat().st_size for f in path.glob("*.bundle.json")) / 1e6
            load_ms = bench_load(path, public)
            print(
                f"1) load a release dir, signed bundle of 1,000 prompts ({size:.1f} MB): "
                f"{load_ms:.1f} ms"
            )
            p50, p99 = bench_render(path, 2000 if quick else 20000)
            print(f"2) render one prompt: p50 {p50:.1f} µs, p99 {p99:.1f} µs")
            n = 300 if quick else 1000
            raw_a, rt_a = asyncio.run(_async_overhead(path, url, n))
            print(
                f"3) zero-latency server, concurrency 1, best of 5:\n"
                f"   arun: raw httpx2 {raw_a:6.1f} µs, runtime {rt_a:6.1f} µs"
                f" (+{rt_a - raw_a:5.1f} µs/call)"
            )
            raw_s, rt_s = _sync_overhead(path, url, n)
            print(
                f"   run:  raw httpx2 {raw_s:6.1f} µs, runtime {rt_s:6.1f} µs"
                f" (+{rt_s - raw_s:5.1f} µs/call)"
            )
            embed_url, embed_proc = _start_embed_server()
            try:
                raw_e, rt_e, raw_ae, rt_ae = bench_embed(path, embed_url, n // 2)
            finally:
                embed_proc.terminate()
            print(
                f"4) embed 16 texts x {EMBED_DIMS} dims, zero-latency server, best of 5:\n"
                f"   embed:  raw httpx2 + decode {raw_e:6.1f} µs, runtime {rt_e:6.1f} µs"
                f" (+{rt_e - raw_e:5.1f} µs/call)\n"
                f"   aembed: raw httpx2 + decode {raw_ae:6.1f} µs, runtime {rt_ae:6.1f} µs"
                f" (+{rt_ae - raw_ae:5.1f} µs/call)"
            )
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
