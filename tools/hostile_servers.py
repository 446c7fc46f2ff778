"""Hostile HTTP servers against the runtime's calls (offline, local).

Run: .venv/bin/python tools/hostile_servers.py [BEHAVIOUR ...] [--timeout S] [--deadline S]

Each behaviour is a server on 127.0.0.1 answering every request its way (closing at
once, garbage, a head trickled a byte at a time, endless 1xx answers, endless headers or
chunks, a gzip bomb, JSON nested 200,000 deep, an endless SSE line, keep-alives and no
token...). `run`, `arun`, `stream`, `astream` and `embed` are called against each with
`timeout_s` (default 0.5 s), no retries and a `deadline_s` (default 1.5 s): each must end
with an answer or a ProviderError within 5 s. Anything else (another exception, a call
still waiting) is a finding; the exit code is 1 if there is one.

Found in session 14, each fixed with a test (tests/providers/test_trickled_answers.py,
test_answer_size.py): a body, a stream's events or its keep-alives trickled (each read's
timeout reset for ever), a head trickled to a blocking stream or a blocking call holding a
cookie, a gzip bomb answering a stream request (decoded in full). After: 0 findings of 115.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.overhead import REPLY as OK
from bench.overhead import read_request

from promptctl.errors import ProviderError
from promptctl.promptfile.model import ProviderSettings
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

Writer = asyncio.StreamWriter
Behaviour = Callable[[Writer], Awaitable[None]]
JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
BEHAVIOURS: dict[str, Behaviour] = {}


def behaviour(f: Behaviour) -> Behaviour:
    BEHAVIOURS[f.__name__.strip("_")] = f
    return f


async def _send(w: Writer, data: bytes, hold: float = 30.0) -> None:
    w.write(data)
    await w.drain()
    await asyncio.sleep(hold)


async def _drip(w: Writer, data: bytes, gap: float = 0.05) -> None:
    for i in range(len(data)):
        w.write(data[i : i + 1])
        await w.drain()
        await asyncio.sleep(gap)


async def _forever(w: Writer, piece: bytes, gap: float = 0.05) -> None:
    while True:
        w.write(piece)
        await w.drain()
        await asyncio.sleep(gap)


def _sized(head: bytes, body: bytes) -> bytes:
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


@behaviour
async def close_at_once(w: Writer) -> None:
    w.close()


@behaviour
async def garbage(w: Writer) -> None:
    await _send(w, b"HELLO THERE\r\n\r\n")


@behaviour
async def head_without_body(w: Writer) -> None:
    await _send(w, JSON_HEAD + b"content-length: 100\r\n\r\n")


@behaviour
async def head_trickled(w: Writer) -> None:
    await _drip(w, b"HTTP/1.1 200 OK\r\nx-pad: " + b"a" * 5000)


@behaviour
async def huge_head(w: Writer) -> None:
    await _send(w, b"HTTP/1.1 200 OK\r\nx-pad: " + b"a" * 200_000 + b"\r\n\r\n")


@behaviour
async def endless_1xx(w: Writer) -> None:
    await _forever(w, b"HTTP/1.1 100 Continue\r\n\r\n")


@behaviour
async def endless_headers(w: Writer) -> None:
    w.write(b"HTTP/1.1 200 OK\r\n")
    await _forever(w, b"x-a: b\r\n")


@behaviour
async def body_trickled(w: Writer) -> None:
    w.write(JSON_HEAD + b"content-length: 100000\r\n\r\n{")
    await _forever(w, b" ")


@behaviour
async def huge_chunk_trickled(w: Writer) -> None:
    w.write(JSON_HEAD + b"transfer-encoding: chunked\r\n\r\nffffffff\r\n")
    await _forever(w, b" ")


@behaviour
async def endless_chunks(w: Writer) -> None:
    w.write(JSON_HEAD + b"transfer-encoding: chunked\r\n\r\n")
    await _forever(w, b"1\r\n \r\n", 0.01)


@behaviour
async def negative_length(w: Writer) -> None:
    await _send(w, b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n" + OK)


@behaviour
async def two_lengths(w: Writer) -> None:
    await _send(w, b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 300\r\n\r\n" + OK)


@behaviour
async def bytes_after_the_answer(w: Writer) -> None:
    await _send(w, _sized(JSON_HEAD, OK) + b"HTTP/1.1 200 OK\r\n")


@behaviour
async def closed_mid_body(w: Writer) -> None:
    w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n" + OK[:20])
    await w.drain()
    w.close()


@behaviour
async def gzip_bomb(w: Writer) -> None:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = b"".join(z.compress(b"\0" * (1 << 20)) for _ in range(300)) + z.flush()
    await _send(w, _sized(JSON_HEAD + b"content-encoding: gzip\r\n", data))


@behaviour
async def json_nested_deep(w: Writer) -> None:
    await _send(w, _sized(JSON_HEAD, b"[" * 200_000 + b"]" * 200_000))


@behaviour
async def sse_endless_line(w: Writer) -> None:
    w.write(SSE_HEAD + b"data: ")
    await _forever(w, b"a" * 65536, 0.0)


@behaviour
async def sse_keep_alives_only(w: Writer) -> None:
    w.write(SSE_HEAD)
    await _forever(w, b": ping\n\n")


@behaviour
async def sse_empty_events(w: Writer) -> None:
    w.write(SSE_HEAD)
    await _forever(w, b"data: {}\n\n")


@behaviour
async def sse_tokens_trickled(w: Writer) -> None:
    w.write(SSE_HEAD)
    delta = {"index": 0, "delta": {"content": "a"}, "finish_reason": None}
    event = {"id": "x", "object": "chat.completion.chunk", "model": "m", "choices": [delta]}
    await _forever(w, b"data: " + json.dumps(event).encode() + b"\n\n", 0.2)


@behaviour
async def status_999(w: Writer) -> None:
    await _send(w, b"HTTP/1.1 999 Weird\r\ncontent-length: 2\r\n\r\n{}")


@behaviour
async def redirect_to_itself(w: Writer) -> None:
    await _send(
        w, b"HTTP/1.1 307 Again\r\nlocation: /v1/chat/completions\r\ncontent-length: 0\r\n\r\n"
    )


@behaviour
async def json_nan(w: Writer) -> None:
    await _send(w, _sized(JSON_HEAD, OK.replace(b'"prompt_tokens": 10', b'"prompt_tokens": NaN')))


class Server:
    """One asyncio server on its own thread; `current` names the behaviour it plays."""

    def __init__(self) -> None:
        self.current = ""
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=asyncio.run, args=(self._main(ready),), daemon=True).start()
        ready.wait()

    async def _main(self, ready: threading.Event) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            await read_request(reader)
            await BEHAVIOURS[self.current](writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _call(rt: Runtime, how: str) -> None:
    if how == "embed":
        rt.embed(["a", "b"], model="local/e")
    elif how == "run":
        rt.run("support/triage", ticket="x")
    elif how == "arun":
        asyncio.run(rt.arun("support/triage", ticket="x"))
    elif how == "stream":
        for _ in rt.stream("support/triage", ticket="x"):
            pass
    else:

        async def read() -> None:
            async for _ in rt.astream("support/triage", ticket="x"):
                pass

        asyncio.run(read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("behaviours", nargs="*", help=", ".join(BEHAVIOURS))
    parser.add_argument("--timeout", type=float, default=0.5, help="timeout_s")
    parser.add_argument("--deadline", type=float, default=1.5, help="deadline_s")
    args = parser.parse_args()
    unknown = sorted(set(args.behaviours) - set(BEHAVIOURS))
    if unknown:
        parser.error(f"unknown behaviour(s): {', '.join(unknown)}")
    server = Server()
    path = Path(tempfile.mkdtemp()) / "hostile.bundle.json"
    url = f"http://127.0.0.1:{server.port}/v1"
    local = ProviderSettings(
        "local", "openai-compatible", url, None, timeout_s=args.timeout, max_retries=0
    )
    write_bundle(path, [prompt(use="local/m")], {"local": local})
    findings = 0
    for name in args.behaviours or BEHAVIOURS:
        server.current = name
        for how in ("run", "arun", "stream", "astream", "embed"):
            gateway = {"deadline_s": args.deadline}
            with Runtime.load(path, ledger=False, gateway_options=gateway) as rt:
                started = time.monotonic()
                try:
                    _call(rt, how)
                    outcome = "answered"
                except ProviderError as exc:
                    outcome = f"{exc.kind}: {str(exc)[:80]}"
                except Exception as exc:  # every other escape is the finding
                    outcome = f"FINDING {type(exc).__name__}: {str(exc)[:100]}"
                    findings += 1
                took = time.monotonic() - started
                if took > 5.0:
                    outcome = f"FINDING: {took:.1f} s | {outcome}"
                    findings += 1
            print(f"{name:24} {how:8} {took:5.2f} s  {outcome}", flush=True)
    print(f"{len(args.behaviours or BEHAVIOURS)} behaviours x 5 calls: {findings} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
