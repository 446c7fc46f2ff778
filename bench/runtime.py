"""The application runtime: load, render, and what `run` adds over a raw HTTP call.

Run: .venv/bin/python bench/runtime.py [--quick] [--overhead]  (--overhead: item 3 only)

1. Load: `Runtime.load` of a release directory whose newest release is a signed bundle
   of 1,000 prompts (`latest`, the rollback scan, read, strict JSON, digest, content
   hashes, Ed25519 signature, Prompt objects); median of 7. Target under 200 ms.
2. Render: `rt.render(id, **inputs)` on one prompt, p50 / p99 of single calls.
   Target p50 under 50 µs.
3. Overhead per call against a zero-latency local server (bench/overhead.py's): `await
   rt.arun` vs a raw `httpx2.AsyncClient.post` of the same body, and `rt.run` (sync)
   vs a raw `httpx2.Client.post`; concurrency 1, interleaved, best of 5. Target under
   300 µs.
4. Tool calls and structured output (`bench_tool_parsing`): what parsing a response
   costs on top of parsing a text answer of the same size, per wire, for a 1 KB
   argument object: a tool call (the adapter's parse, then `check_tool_calls` against
   the tool's schema) and a structured answer (OpenAI/Gemini: JSON text; Anthropic: the
   forced tool's input; then `parse_output` validates it against the output schema).
   CPU time, best of 7 interleaved runs of 2,000 parses. Target under 50 µs per call.
5. Streaming overhead per chunk over reading the raw SSE with bare httpx2 (target ≤ 20 µs)
6. Streaming time to first token added by the runtime (target ≤ 300 µs); both in
   bench/_streaming.py.
7. Embed overhead per call (bench/embed.py): `rt.embed` / `await rt.aembed` of 16
   texts against a zero-latency server answering 16 vectors of 1,536 float32 (base64),
   vs a raw httpx2 post of the same body plus the decode any client needs.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Overhead:
    """Per-call figures of a raw client and of the runtime, same body, same server.

    Wall p50/p99 over every call of the interleaved blocks; CPU: this process's CPU per
    call (the server runs in its own process), best block: on a shared machine the wall
    clock measures the neighbours too, CPU time the code.
    """

    raw_p50: float
    raw_p99: float
    rt_p50: float
    rt_p99: float
    raw_cpu: float
    rt_cpu: float
    pooled: tuple[float, float, float] | None = None  # raw over SyncPooledTransport

    def line(self, name: str) -> str:
        return (
            f"   {name:5s} raw httpx2 p50 {self.raw_p50:6.1f} / p99 {self.raw_p99:7.1f} µs,"
            f" runtime p50 {self.rt_p50:6.1f} / p99 {self.rt_p99:7.1f} µs:"
            f" +{self.rt_p50 - self.raw_p50:5.1f} µs p50;"
            f" CPU {self.raw_cpu:5.1f} vs {self.rt_cpu:5.1f} µs"
            f" (+{self.rt_cpu - self.raw_cpu:5.1f})"
        )


def _overhead(wall: dict[str, list[int]], cpu: dict[str, list[float]]) -> Overhead:
    def q(name: str, f: float) -> float:
        s = sorted(wall[name])
        return s[min(len(s) - 1, int(len(s) * f))] / 1000

    pooled = None
    if "pooled" in wall:
        pooled = (q("pooled", 0.5), q("pooled", 0.99), min(cpu["pooled"]))
    return Overhead(
        q("raw", 0.5),
        q("raw", 0.99),
        q("rt", 0.5),
        q("rt", 0.99),
        min(cpu["raw"]),
        min(cpu["rt"]),
        pooled,
    )


def _request(rt: Any) -> tuple[bytes, dict[str, str]]:
    messages = rt.render("app/p0500", ticket="My invoice is wrong")
    body = json.dumps(
        {"model": "gpt-4o-mini", "messages": messages, "temperature": 0, "max_tokens": 5}
    ).encode()
    return body, {"content-type": "application/json", "authorization": "Bearer sk-bench"}


BLOCKS = 10  # interleaved blocks of n/BLOCKS calls each, per side


async def _async_overhead(path: Path, url: str, n: int) -> Overhead:
    import httpx2

    from promptctl.runtime import Runtime

    rt = Runtime.load(path, ledger=False, env=ENV)
    body, headers = _request(rt)
    raw = httpx2.AsyncClient()

    async def raw_call() -> None:
        r = await raw.post(url + "/chat/completions", content=body, headers=headers)
        json.loads(r.content)

    async def rt_call() -> None:
        await rt.arun("app/p0500", ticket="My invoice is wrong")

    calls = {"raw": raw_call, "rt": rt_call}
    wall: dict[str, list[int]] = {k: [] for k in calls}
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    clock, per_block = time.perf_counter_ns, max(1, n // BLOCKS)
    for fn in calls.values():
        for _ in range(100):
            await fn()
    for _ in range(BLOCKS):
        for name, fn in calls.items():
            samples, started = wall[name], time.process_time()
            for _ in range(per_block):
                t = clock()
                await fn()
                samples.append(clock() - t)
            cpu[name].append((time.process_time() - started) / per_block * 1e6)
    await raw.aclose()
    await rt.aclose()
    rt.close()
    return _overhead(wall, cpu)


def _sync_overhead(path: Path, url: str, n: int) -> Overhead:
    import httpx2

    from promptctl.runtime import Runtime

    rt = Runtime.load(path, ledger=False, env=ENV)
    body, headers = _request(rt)
    from promptctl.providers._sync_transport import SyncPooledTransport

    raw = httpx2.Client()
    pooled = httpx2.Client(transport=SyncPooledTransport(10, ssl_context=httpx2.create_ssl_context))

    def raw_call() -> None:
        r = raw.post(url + "/chat/completions", content=body, headers=headers)
        json.loads(r.content)

    def pooled_call() -> None:
        r = pooled.post(url + "/chat/completions", content=body, headers=headers)
        json.loads(r.content)

    def rt_call() -> None:
        rt.run("app/p0500", ticket="My invoice is wrong")

    calls = {"raw": raw_call, "rt": rt_call, "pooled": pooled_call}
    wall: dict[str, list[int]] = {k: [] for k in calls}
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    clock, per_block = time.perf_counter_ns, max(1, n // BLOCKS)
    for fn in calls.values():
        for _ in range(100):
            fn()
    for _ in range(BLOCKS):
        for name, fn in calls.items():
            samples, started = wall[name], time.process_time()
            for _ in range(per_block):
                t = clock()
                fn()
                samples.append(clock() - t)
            cpu[name].append((time.process_time() - started) / per_block * 1e6)
    raw.close()
    pooled.close()
    rt.close()
    return _overhead(wall, cpu)


_ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["order_id", "customer", "items", "note"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^A-[0-9]{6}$"},
        "customer": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {
                    "sku": {"type": "string"},
                    "qty": {"type": "integer", "minimum": 1},
                    "gift": {"type": "boolean"},
                },
            },
        },
        "note": {"type": "string", "maxLength": 2000},
    },
}


def _order_arguments() -> dict[str, Any]:
    """An argument object of about 1 KB of JSON that matches `_ORDER_SCHEMA`."""
    return {
        "order_id": "A-204518",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "items": [{"sku": f"SKU-{i:05d}", "qty": i + 1, "gift": i % 2 == 0} for i in range(15)],
        "note": "Please leave the parcel with the neighbour at number 12 if nobody is home. " * 3,
    }


def _bodies(wire: str, args: dict[str, Any]) -> tuple[bytes, bytes, bytes]:
    """(text answer, tool-call answer, structured answer) as `wire` sends them."""
    text = json.dumps(args)
    if wire == "openai":

        def chat(message: dict[str, Any]) -> bytes:
            choice = {"index": 0, "message": {"role": "assistant", **message}}
            usage = {"prompt_tokens": 10, "completion_tokens": 300}
            body = {"model": "m", "choices": [{**choice, "finish_reason": "stop"}], "usage": usage}
            return json.dumps(body).encode()

        function = {"name": "place_order", "arguments": text}
        call = {"id": "c1", "type": "function", "function": function}
        plain = chat({"content": text})
        return plain, chat({"content": None, "tool_calls": [call]}), plain
    if wire == "anthropic":
        from promptctl.providers.anthropic import OUTPUT_TOOL

        def message(block: dict[str, Any]) -> bytes:
            usage = {"input_tokens": 10, "output_tokens": 300}
            body = {"model": "m", "content": [block], "stop_reason": "end_turn", "usage": usage}
            return json.dumps(body).encode()

        use = {"type": "tool_use", "id": "t1", "input": args}
        return (
            message({"type": "text", "text": text}),
            message({**use, "name": "place_order"}),
            message({**use, "name": OUTPUT_TOOL}),
        )

    def candidate(part: dict[str, Any]) -> bytes:
        usage = {"promptTokenCount": 10, "candidatesTokenCount": 300}
        first = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}
        return json.dumps({"candidates": [first], "usageMetadata": usage}).encode()

    plain = candidate({"text": text})
    return plain, candidate({"functionCall": {"name": "place_order", "args": args}}), plain


def _per_call(fns: list[Any], runs: int, n: int) -> list[float]:
    """CPU µs per call of each of `fns`, best of `runs` interleaved runs: on a shared
    machine the wall clock measures the neighbours, CPU time the code."""
    for fn in fns:
        fn()  # warm: validators compile once per schema
    best = [float("inf")] * len(fns)
    for _ in range(runs):
        for k, fn in enumerate(fns):
            start = time.process_time()
            for _ in range(n):
                fn()
            best[k] = min(best[k], (time.process_time() - start) / n * 1e6)
    return best


def _added(wire: str, runs: int, n: int) -> tuple[float, float]:
    """(tool call, structured output) µs per call over parsing a text answer."""
    from promptctl.promptfile.chat import ToolSpec
    from promptctl.promptfile.model import OutputSpec
    from promptctl.providers.base import load_adapter
    from promptctl.providers.tool_calls import check_tool_calls
    from promptctl.runtime._output import parse_output

    args = _order_arguments()
    tools = (ToolSpec("place_order", "Place an order.", _ORDER_SCHEMA),)
    structured = OutputSpec(format="json", schema=_ORDER_SCHEMA)
    text_only = OutputSpec()
    parse = load_adapter(wire).parse_response
    plain, tool, answer = _bodies(wire, args)

    def base() -> None:
        parse_output(text_only, parse(200, {}, plain).text)

    def tool_call() -> None:
        parsed = parse(200, {}, tool)
        assert check_tool_calls(tools, parsed.tool_calls)[0].arguments_valid

    def structured_answer() -> None:
        data, error = parse_output(structured, parse(200, {}, answer).text)
        assert error is None and data == args

    b, t, o = _per_call([base, tool_call, structured_answer], runs, n)
    return t - b, o - b


def bench_tool_parsing(runs: int = 7, n: int = 2000) -> dict[str, tuple[float, float]]:
    """wire -> (tool call, structured output) µs added per call (see item 4)."""
    return {wire: _added(wire, runs, n) for wire in ("openai", "anthropic", "gemini")}


def bench_sync_threads(threads: int = 8, n: int = 800, runs: int = 3) -> dict[str, float]:
    """The blocking client from `threads` threads, `n` requests to a 50 ms server (its own
    process): client CPU per request, best of `runs`, httpx2's default transport vs
    `SyncPooledTransport` (bench/overhead.py's measure, for the blocking client)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx2

    from promptctl.providers._sync_transport import SyncPooledTransport

    url, proc = start_server(0.05)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    clients = {
        "httpx2 default": lambda: httpx2.Client(limits=httpx2.Limits(max_connections=threads)),
        "SyncPooledTransport": lambda: httpx2.Client(
            transport=SyncPooledTransport(threads, ssl_context=httpx2.create_ssl_context)
        ),
    }
    best = dict.fromkeys(clients, float("inf"))
    try:
        for _ in range(runs):
            for name, make in clients.items():
                with make() as client, ThreadPoolExecutor(threads) as pool:

                    def one(_: int, client: Any = client) -> None:
                        json.loads(client.post(url + "/chat/completions", content=body).content)

                    list(pool.map(one, range(threads)))  # connect
                    started = time.process_time()
                    list(pool.map(one, range(n)))
                    best[name] = min(best[name], (time.process_time() - started) / n * 1e6)
    finally:
        proc.terminate()
    return best


def _report_overhead(path: Path, url: str, quick: bool) -> None:
    n = 1000 if quick else 5000
    load = os.getloadavg()[0]
    arun = asyncio.run(_async_overhead(path, url, n))
    run = _sync_overhead(path, url, n)
    print(
        f"3) zero-latency server, concurrency 1, {n:,} calls per side in {BLOCKS} "
        f"interleaved blocks (load average {load:.1f} -> {os.getloadavg()[0]:.1f}):"
    )
    print(arun.line("arun:"))
    print(run.line("run:"))
    if run.pooled is not None:
        p50, p99, cpu = run.pooled
        print(
            f"   the blocking client alone: httpx2.Client over SyncPooledTransport p50 {p50:6.1f}"
            f" / p99 {p99:7.1f} µs, CPU {cpu:5.1f} µs (httpx2's default transport: above)"
        )
    threads = bench_sync_threads(n=200 if quick else 800)
    print(
        "   blocking client, 8 threads, 50 ms server, client CPU per request: "
        + ", ".join(f"{name} {us:5.1f} µs" for name, us in threads.items())
    )


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
            if "--overhead" in sys.argv:
                _report_overhead(path, url, quick)
                return
            load_ms = bench_load(path, public)
            print(
                f"1) load a release dir, signed bundle of 1,000 prompts ({size:.1f} MB): "
                f"{load_ms:.1f} ms"
            )
            p50, p99 = bench_render(path, 2000 if quick else 20000)
            print(f"2) render one prompt: p50 {p50:.1f} µs, p99 {p99:.1f} µs")
            _report_overhead(path, url, quick)
            size = len(json.dumps(_order_arguments()))
            print(f"4) parsing added over a text answer, {size:,}-byte argument object:")
            for wire, (tool_us, out_us) in bench_tool_parsing(runs=3 if quick else 7).items():
                tool, out = f"+{tool_us:5.1f} µs", f"+{out_us:5.1f} µs"
                print(f"   {wire:9s} tool call {tool}, structured output {out}")
            from bench._streaming import report

            report(path, quick)  # items 5 and 6: the bundle is still there

            from bench.embed import report as embed_report

            embed_report(path, quick)
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
