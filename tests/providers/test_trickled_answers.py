"""A server that trickles its answer (a byte, or an SSE event, every few tenths of a
second) resets every per-read timeout: a whole call is bounded by `timeout_s` for the
whole answer, and a stream by the call's `deadline_s` (both held the call until the
server gave up: found by hand in session 14, a `run` still waiting after 50 s)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from promptctl.errors import ProviderError, StreamInterrupted
from promptctl.promptfile.model import ProviderSettings
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

MESSAGE = {"role": "assistant", "content": "ok"}
ANSWER = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": MESSAGE, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()
DELTA = {"index": 0, "delta": {"content": "a"}, "finish_reason": None}


class _Trickle(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cookie_first = False  # the first answer is whole and sets a cookie
    pings = False  # a stream of keep-alive comments only, never a token
    slow_head = False  # the response head itself, a byte every 50 ms
    served = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        cls = type(self)
        cls.served += 1
        try:
            if cls.slow_head and not (cls.cookie_first and cls.served == 1):
                for byte in b"HTTP/1.1 200 OK\r\nx-pad: " + b"a" * 2000:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)
            elif body.get("stream"):
                self._events()
            elif cls.cookie_first and cls.served == 1:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("set-cookie", "__cf_bm=abc; Path=/")
                self.send_header("content-length", str(len(ANSWER)))
                self.end_headers()
                self.wfile.write(ANSWER)
            else:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "100000")
                self.end_headers()
                self.wfile.write(b"{")
                for _ in range(200):  # 40 s of a space every 0.2 s
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
        except OSError:
            pass  # the client gave up: what the test wants

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for _ in range(200):
            event = {"id": "x", "object": "chat.completion.chunk", "model": "m", "choices": [DELTA]}
            data = b"data: " + json.dumps(event).encode() + b"\n\n"
            if type(self).pings:
                data = b": ping\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            time.sleep(0.2)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trickle() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    _Trickle.served = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _runtime(tmp_path: Path, url: str, **gateway: Any) -> Runtime:
    path = tmp_path / "b.bundle.json"
    local = ProviderSettings("local", "openai-compatible", url, None, timeout_s=0.5, max_retries=0)
    write_bundle(path, [prompt(use="local/m")], {"local": local})
    return Runtime.load(path, ledger=False, gateway_options=gateway or None)


def _read_stream(rt: Runtime, ticket: str) -> None:
    """A blocking `stream()` read to its end."""
    for _ in rt.stream("support/triage", ticket=ticket):
        pass


def test_a_trickled_whole_answer_is_cut_at_timeout_s_blocking(tmp_path: Path, trickle: str) -> None:
    with _runtime(tmp_path, trickle) as rt:
        started = time.monotonic()
        with pytest.raises(ProviderError) as info:
            rt.run("support/triage", ticket="x")
    assert info.value.kind == "timeout" and "the whole answer did not arrive" in str(info.value)
    assert time.monotonic() - started < 6.0  # timeout_s 0.5 s; before: the server's 40 s


def test_a_trickled_whole_answer_is_cut_at_timeout_s_async(tmp_path: Path, trickle: str) -> None:
    async def call() -> None:
        async with _runtime(tmp_path, trickle) as rt:
            await rt.arun("support/triage", ticket="x")

    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        asyncio.run(call())
    assert info.value.kind == "timeout" and time.monotonic() - started < 6.0


@pytest.mark.parametrize("blocking", [True, False])
def test_after_a_cookie_the_httpx2_path_cuts_a_trickle_too(
    tmp_path: Path, trickle: str, blocking: bool
) -> None:
    """A server setting a cookie (Cloudflare's, on OpenAI's answers) sends later calls
    through httpx2's client, whose timeouts are per read."""
    _Trickle.cookie_first = True
    try:
        if blocking:
            with _runtime(tmp_path, trickle) as rt:
                assert rt.run("support/triage", ticket="x").text == "ok"
                started = time.monotonic()
                with pytest.raises(ProviderError, match="timeout"):
                    rt.run("support/triage", ticket="y")
        else:

            async def calls() -> None:
                async with _runtime(tmp_path, trickle) as rt:
                    assert (await rt.arun("support/triage", ticket="x")).text == "ok"
                    await rt.arun("support/triage", ticket="y")

            started = time.monotonic()
            with pytest.raises(ProviderError, match="timeout"):
                asyncio.run(calls())
    finally:
        _Trickle.cookie_first = False
    assert time.monotonic() - started < 6.0


@pytest.mark.parametrize("blocking", [True, False])
def test_a_trickled_stream_ends_at_the_deadline_with_its_partial_text(
    tmp_path: Path, trickle: str, blocking: bool
) -> None:
    started = time.monotonic()
    if blocking:
        with (
            _runtime(tmp_path, trickle, deadline_s=0.8) as rt,
            pytest.raises(StreamInterrupted) as info,
        ):
            _read_stream(rt, "x")
    else:

        async def read() -> None:
            async with _runtime(tmp_path, trickle, deadline_s=0.8) as rt:
                async for _ in rt.astream("support/triage", ticket="x"):
                    pass

        with pytest.raises(StreamInterrupted) as info:
            asyncio.run(read())
    assert info.value.kind == "timeout" and "deadline" in str(info.value)
    assert info.value.partial_text.startswith("a")
    assert 0.7 < time.monotonic() - started < 6.0


def test_keep_alives_without_a_token_end_at_the_deadline_on_the_blocking_path(
    tmp_path: Path, trickle: str
) -> None:
    """Each comment resets the read timeout, and a blocking `stream()` without
    `first_token_s` has no timer: the call's deadline is checked as they arrive."""
    _Trickle.pings = True
    try:
        started = time.monotonic()
        with (
            _runtime(tmp_path, trickle, deadline_s=0.8) as rt,
            pytest.raises(ProviderError) as info,
        ):
            _read_stream(rt, "x")
    finally:
        _Trickle.pings = False
    assert info.value.kind == "timeout" and "deadline" in str(info.value)
    assert not isinstance(info.value, StreamInterrupted)
    assert 0.7 < time.monotonic() - started < 6.0


@pytest.mark.parametrize("how", ["stream", "run after a cookie"])
def test_a_head_trickled_a_byte_at_a_time_is_cut_on_the_blocking_httpx2_path(
    tmp_path: Path, trickle: str, how: str
) -> None:
    """httpcore2 reads a stream's head (and, once a cookie is held, a whole call's) with
    a timeout per read: the call's deadline, or the whole call's timeout_s, ends it."""
    _Trickle.slow_head = True
    _Trickle.cookie_first = how != "stream"
    try:
        with _runtime(tmp_path, trickle, deadline_s=0.8) as rt:
            if how != "stream":
                assert rt.run("support/triage", ticket="x").text == "ok"
            started = time.monotonic()
            with pytest.raises(ProviderError) as info:
                if how == "stream":
                    _read_stream(rt, "y")
                else:
                    rt.run("support/triage", ticket="y")
    finally:
        _Trickle.slow_head = _Trickle.cookie_first = False
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 6.0  # before: 2,000 bytes x 50 ms, 100 s


def test_a_whole_answer_that_arrives_in_time_is_unaffected(tmp_path: Path) -> None:
    """The bound is on the answer, not the connection: keep-alive reuse over several
    calls well past timeout_s in total still works."""
    from fakes.llm_server import FakeLLM

    fake = FakeLLM().start()
    try:
        path = tmp_path / "b.bundle.json"
        local = ProviderSettings(
            "local", "openai-compatible", fake.openai_base, None, timeout_s=0.5
        )
        write_bundle(path, [prompt(use="local/m")], {"local": local})
        with Runtime.load(path, ledger=False) as rt:
            for i in range(4):
                rt.run("support/triage", ticket=str(i))
                time.sleep(0.2)
    finally:
        fake.stop()
