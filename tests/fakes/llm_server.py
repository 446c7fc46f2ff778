"""A fake LLM HTTP server for tests: OpenAI, Anthropic and Gemini wire formats.

A real `ThreadingHTTPServer` on 127.0.0.1 (ephemeral port) in a background thread, so
tests exercise the real HTTP client, connection pool, timeouts and dropped sockets.

Routes (the request's path picks the wire format):
    POST …/chat/completions           OpenAI Chat Completions (also Azure and compatible)
    POST /v1/messages                 Anthropic Messages
    POST …/models/{model}:generateContent   Gemini
    POST …/responses                  OpenAI Responses (wire "openai-responses")
    POST …/embeddings                 OpenAI/Azure/compatible embeddings (wire "openai-embed";
                                      `encoding_format: base64` honoured)
    POST …/models/{model}:batchEmbedContents, :embedContent   Gemini embeddings ("gemini-embed")
      (embedding answers: fakes/more_wires.py; bag-of-words vectors, `fake.embed_dims[model]`
      dimensions (the real sizes of OpenAI's and Gemini's models, else 64) unless the
      request asks for some, 1 token per word;
      `fake.gemini_embed_usage = False` leaves out Gemini's usageMetadata)
    Streaming (`"stream": true`, Gemini `:streamGenerateContent?alt=sse`): the reply as
    server-sent events in each wire's format (fakes/sse_events.py), split by
    `fake.stream_pieces` (default: word by word), `fake.stream_delay_s` apart
    Batch APIs (OpenAI files/batches, Anthropic message batches): see fakes/batch_api.py,
    scripted through `fake.batches`

API (`fake = FakeLLM().start()`, or the `fake_llm` pytest fixture in tests/conftest.py):
    fake.base_url                     "http://127.0.0.1:PORT"
    fake.openai_base / anthropic_base / gemini_base   base_url values for ProviderSettings
    fake.requests                     list[Logged(wire, path, headers (lower-case), body,
                                      raw (the body bytes), method, at (monotonic arrival),
                                      peer (client address: one per connection))]
    fake.calls[wire]                  request count per wire ("openai", "anthropic", "gemini")
    fake.reply(text_or_fn)            scripted reply: a str, or fn(Logged) -> str
    fake.reply_tool_calls(calls_or_fn)  scripted tool calls: [(name, arguments)], or
                                      fn(Logged) -> [(name, arguments)] | None (None: the
                                      text reply); arguments a dict, or a str sent verbatim
                                      (invalid JSON); in each wire's shape (OpenAI
                                      message.tool_calls, Anthropic tool_use blocks, Gemini
                                      functionCall parts), ids `call_fake_<n>`. An Anthropic
                                      request forcing one tool (tool_choice type tool) gets
                                      that tool_use with the text reply parsed as its input.
    fake.echo_headers()               reply with the request's headers as JSON (a leaky proxy)
    fake.usage[wire] = {...}          raw usage object returned in that wire's format
    fake.latency_s = 0.05             delay before every answer
    fake.response_headers = {...}     extra headers on every successful answer (a proxy's
                                      x-litellm-response-cost, …)
    Fault injection (a FIFO queue; each fault answers one request, `wire=` restricts it):
    fake.rate_limit(retry_after=…, retry_after_ms=…, retry_delay=…)   429
    fake.quota()                      429 that will not heal (OpenAI insufficient_quota,
                                      Anthropic enforced_spend_limit_reached)
    fake.error(status)                500 / 503 / 529 … in the wire's error envelope
    fake.context_length(), fake.auth_error()
    fake.model_retired(model, wire=)  404 each vendor sends for a retired or unknown model
    fake.timeout(seconds)             sleep longer than the client's timeout, then answer
    fake.drop()                       close the socket without a response
    fake.non_json(status=200)         a body that is not JSON
    Stream faults (only a streaming request takes them):
    fake.stream_cut(after=N)          N text events, then the connection closes mid-body
    fake.stream_stall(s, keepalive_s=)   headers, then s seconds before the first event
                                      (SSE comments every keepalive_s meanwhile, if set)
    fake.stream_garbage(after=N)      N text events, then an event that is not JSON
    fake.stream_error(after=N, status=)  N text events, then the wire's error event
    fake.streams_aborted              streams the client closed before their end
    fake.stop()                       shuts down; pending sleeps are cut short
    fake_providers(fake, **overrides) ProviderSettings for openai, anthropic, gemini, local,
                                      mistral and azure, all pointing at the fake

Everything is bounded: sleeps wake at stop(), the server thread is joined.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fakes import more_wires
from promptctl.promptfile.model import ProviderSettings

__all__ = ["FakeLLM", "Fault", "Logged", "fake_providers"]


@dataclass(frozen=True)
class Logged:
    wire: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""  # the body exactly as received
    method: str = "POST"
    at: float = 0.0  # time.monotonic() when the request arrived (rate-limit tests)
    peer: tuple[str, int] = ("", 0)  # the client's address: one per connection


@dataclass(frozen=True)
class Fault:
    action: str  # "status" | "sleep" | "drop" | "garbage" | "raw" | "cut"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "fake failure"
    code: str = ""  # OpenAI code / Anthropic error type
    details: Any = None
    sleep_s: float = 0.0
    wire: str | None = None
    body: bytes = b""  # "raw": sent as is; "cut": sent under a longer content-length
    after: int = 0  # stream faults: text events sent before the fault
    keepalive_s: float = 0.0  # "stream_stall": SSE comments this often while stalling

    @property
    def streaming_only(self) -> bool:
        return self.action.startswith("stream_")


_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_ANTHROPIC_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def _wire(path: str) -> str:
    if path.split("?")[0].endswith("/chat/completions"):
        return "openai"
    if path.split("?")[0].endswith("/responses"):
        return "openai-responses"
    if path.split("?")[0].endswith("/embeddings"):
        return "openai-embed"
    if ":batchEmbedContents" in path or ":embedContent" in path:
        return "gemini-embed"
    if path.split("?")[0].endswith("/v1/messages"):
        return "anthropic"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    return "unknown"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a concurrent eval connects many clients at once

    def serve_until_woken(self, wake: socket.socket) -> None:
        """`serve_forever` without a poll interval: it sleeps until a client connects or
        `wake` is written to, so stopping takes no fraction of an interval."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake:
                        return
                    self._handle_request_noblock()  # type: ignore[attr-defined]
                self.service_actions()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test) is expected: no traceback on stderr."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[Logged] = []
        self.calls: Counter[str] = Counter()
        self.usage: dict[str, dict[str, Any]] = {
            "openai": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            "anthropic": {"input_tokens": 10, "output_tokens": 5},
            "gemini": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "openai-responses": {
                "input_tokens": 10,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 5,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 15,
            },
        }
        # model -> native dimension of its vectors (others: DEFAULT_DIMS, 64)
        self.embed_dims: dict[str, int] = dict(more_wires.NATIVE_DIMS)
        self.gemini_embed_usage = True
        self.latency_s = 0.0
        self.stream_delay_s = 0.0
        self.streams_aborted = 0  # streams whose client went away before their end
        self.stream_pieces: Callable[[str], list[str]] = _words
        self.response_headers: dict[str, str] = {}
        self._reply: Callable[[Logged], str] = lambda _: "hello from fake"
        self._tool_calls: Callable[[Logged], ToolCalls | None] = lambda _: None
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._stop_lock = threading.Lock()  # a test's stop() may race the fixture's
        self._thread: threading.Thread | None = None
        from fakes.batch_api import BatchAPI

        self.batches = BatchAPI(self)

    # ---- lifecycle ----
    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle on, the body waits for
            # the client's delayed ACK (~40 ms per call on Linux)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self, "GET")

        self._server = _Server(("127.0.0.1", 0), Handler)
        # stop() wakes the serving loop through this pair: no poll interval to wait out
        self._wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._server.serve_until_woken, args=(self._wake[1],), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._stop_lock:  # a second stop() (a test's thread, then the fixture's) waits
            wake, self._wake = self._wake, None
            if self._thread is not None and wake is not None:
                wake[0].send(b"x")
                self._thread.join(timeout=5)
                for end in wake:
                    end.close()
            if self._server is not None:
                self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_base(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_base(self) -> str:
        return self.base_url

    @property
    def gemini_base(self) -> str:
        return self.base_url + "/v1beta"

    # ---- scripting ----
    def reply(self, text: str | Callable[[Logged], str]) -> None:
        self._reply = text if callable(text) else (lambda _: text)

    def reply_tool_calls(self, calls: ToolCalls | Callable[[Logged], ToolCalls | None]) -> None:
        self._tool_calls = calls if callable(calls) else (lambda _: calls)

    def echo_headers(self) -> None:
        """Answer every request with its own headers (Authorization included), as JSON."""
        self.reply(lambda logged: json.dumps(logged.headers, sort_keys=True))

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def rate_limit(
        self,
        *,
        retry_after: str | None = None,
        retry_after_ms: str | None = None,
        retry_delay: str | None = None,
        wire: str | None = None,
    ) -> None:
        headers = {}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        details = None
        if retry_delay is not None:
            details = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
            ]
        self.add_fault(
            Fault("status", 429, headers, "rate limited", "rate_limit_exceeded", details, wire=wire)
        )

    def quota(self, *, wire: str | None = None) -> None:
        self.add_fault(
            Fault(
                "status",
                429,
                message="quota reached",
                code="insufficient_quota",
                details={"error_code": "enforced_spend_limit_reached"},
                wire=wire,
            )
        )

    def error(
        self, status: int = 500, *, message: str = "fake failure", wire: str | None = None
    ) -> None:
        self.add_fault(Fault("status", status, message=message, wire=wire))

    def context_length(self, *, wire: str | None = None) -> None:
        self.add_fault(
            Fault(
                "status",
                400,
                message="input token count exceeds the context length; prompt is too long",
                code="context_length_exceeded",
                wire=wire,
            )
        )

    def model_retired(self, model: str, *, wire: str | None = None) -> None:
        """The 404 each vendor answers for a retired (or never existing) model id."""
        messages = {
            "openai": f"The model `{model}` does not exist or you do not have access to it.",
            "anthropic": f"model: {model}",
            "gemini": f"models/{model} is not found for API version v1beta, or is not "
            "supported for generateContent. Call ListModels to see the list of available "
            "models and their supported methods.",
        }
        wires = [wire] if wire else list(messages)
        for w in wires:
            code = "model_not_found" if w == "openai" else ""
            self.add_fault(Fault("status", 404, message=messages[w], code=code, wire=w))

    def auth_error(self, *, message: str = "invalid key", wire: str | None = None) -> None:
        self.add_fault(Fault("status", 401, message=message, code="invalid_api_key", wire=wire))

    def timeout(self, seconds: float, *, wire: str | None = None) -> None:
        self.add_fault(Fault("sleep", sleep_s=seconds, wire=wire))

    def drop(self, *, wire: str | None = None) -> None:
        self.add_fault(Fault("drop", wire=wire))

    def non_json(self, status: int = 200, *, wire: str | None = None) -> None:
        self.add_fault(Fault("garbage", status, wire=wire))

    def raw(
        self,
        body: bytes | dict[str, Any],
        status: int = 200,
        *,
        wire: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer once with exactly `body` (bytes, or a dict sent as JSON), and `headers`
        besides its content type (a `content-encoding`, a `set-cookie`)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"content-type": content_type, **(headers or {})}
        self.add_fault(Fault("raw", status, headers=headers, body=data, wire=wire))

    def cut(self, *, wire: str | None = None) -> None:
        """Send the status line, headers and part of the body, then close the connection."""
        self.add_fault(Fault("cut", body=b'{"id": "x", "choices": [', wire=wire))

    def stream_cut(self, *, after: int = 1, wire: str | None = None) -> None:
        self.add_fault(Fault("stream_cut", after=after, wire=wire))

    def stream_stall(
        self, seconds: float, *, keepalive_s: float = 0.0, wire: str | None = None
    ) -> None:
        self.add_fault(Fault("stream_stall", sleep_s=seconds, keepalive_s=keepalive_s, wire=wire))

    def stream_garbage(
        self, *, after: int = 0, wire: str | None = None, data: bytes = b"<html>502</html>"
    ) -> None:
        """After `after` text events, an event whose data is `data` (not the wire's JSON)."""
        self.add_fault(Fault("stream_garbage", after=after, wire=wire, body=data))

    def stream_error(
        self,
        *,
        after: int = 1,
        status: int = 529,
        message: str = "Overloaded",
        wire: str | None = None,
    ) -> None:
        self.add_fault(Fault("stream_error", status, message=message, after=after, wire=wire))

    # ---- serving ----
    def _next_fault(self, wire: str, streaming: bool = False) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.wire in (None, wire) and (streaming or not fault.streaming_only):
                    return self._faults.pop(i)
        return None

    def _handle(self, h: BaseHTTPRequestHandler, method: str = "POST") -> None:
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length)
        if self.batches.handles(method, h.path):
            wire = "anthropic-batch" if "/messages/" in h.path else "openai-batch"
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw  # a multipart upload
            with self._lock:
                self.requests.append(
                    Logged(wire, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
                )
                self.calls[wire] += 1
            self.batches.handle(h, method, raw)
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        wire = _wire(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        logged = Logged(
            wire, h.path, headers, body, raw, h.command, time.monotonic(), h.client_address
        )
        with self._lock:
            self.requests.append(logged)
            self.calls[wire] += 1
        if self.latency_s:
            self._stopping.wait(self.latency_s)
        streaming = ":streamGenerateContent" in h.path or (
            isinstance(body, dict) and body.get("stream") is True
        )
        fault = self._next_fault(wire, streaming)
        if fault is not None and fault.action == "drop":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.action == "sleep":
            self._stopping.wait(fault.sleep_s)
            fault = None
        if fault is not None and fault.action == "raw":
            self._send(h, fault.status, fault.body, dict(fault.headers))
            return
        if fault is not None and fault.action == "cut":
            h.close_connection = True
            h.send_response(200)
            h.send_header("content-type", "application/json")
            h.send_header("content-length", str(len(fault.body) + 500))
            h.end_headers()
            h.wfile.write(fault.body)
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.action == "garbage":
            self._send(
                h, fault.status, b"<html>502 Bad Gateway</html>", {"content-type": "text/html"}
            )
            return
        if fault is not None and not fault.streaming_only:
            payload = self._error_body(wire, fault)
            self._send(h, fault.status, json.dumps(payload).encode(), fault.headers)
            return
        text = self._reply(logged)
        calls = self._tool_calls(logged)
        if streaming:
            self._stream(h, wire, logged, text, fault, calls)
            return
        ok = self._ok_body(wire, logged, text)
        if calls is not None:
            _with_tool_calls(wire, ok, list(calls))
        elif wire == "anthropic":
            _forced_tool(logged, ok, text)
        body = json.dumps(ok).encode()
        self._send(h, 200, body, dict(self.response_headers))

    def _stream(
        self,
        h: BaseHTTPRequestHandler,
        wire: str,
        logged: Logged,
        text: str,
        fault: Fault | None,
        calls: ToolCalls | None,
    ) -> None:
        """The answer (or its tool calls) as server-sent events, chunked; a stream fault
        breaks it on cue."""
        from fakes.sse_events import error_event, events

        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("transfer-encoding", "chunked")
        h.send_header("x-request-id", f"req-{len(self.requests)}")
        for name, value in self.response_headers.items():
            h.send_header(name, value)
        h.end_headers()

        def write(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        try:
            if fault is not None and fault.action == "stream_stall":
                until = time.monotonic() + fault.sleep_s
                while (left := until - time.monotonic()) > 0 and not self._stopping.is_set():
                    self._stopping.wait(min(left, fault.keepalive_s or left))
                    if fault.keepalive_s and until - time.monotonic() > 0:
                        write(b": keep-alive\n\n")
            texts = 0
            pieces = self.stream_pieces(text)
            stream = events(wire, logged, pieces, self.usage[wire], calls, self.stream_pieces)
            for event, is_text in stream:
                if fault is not None and is_text and texts == fault.after:
                    if fault.action == "stream_cut":
                        h.close_connection = True
                        h.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if fault.action == "stream_garbage":
                        write(b"data: " + fault.body + b"\n\n")
                        fault = None
                    elif fault.action == "stream_error":
                        write(error_event(wire, fault.status, fault.message))
                        write(b"")
                        return
                write(event)
                texts += is_text
                if is_text and self.stream_delay_s:
                    self._stopping.wait(self.stream_delay_s)
            write(b"")  # the last chunk
        except (BrokenPipeError, ConnectionResetError):  # the client closed the stream
            h.close_connection = True
            with self._lock:
                self.streams_aborted += 1

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]
    ) -> None:
        h.send_response(status)
        h.send_header("content-type", headers.pop("content-type", "application/json"))
        h.send_header("content-length", str(len(data)))
        h.send_header("x-request-id", f"req-{len(self.requests)}")
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _ok_body(self, wire: str, logged: Logged, text: str) -> dict[str, Any]:
        body = logged.body if isinstance(logged.body, dict) else {}
        if wire == "openai-responses":
            rid = f"resp_{len(self.requests)}"
            return more_wires.responses_body(body, text, self.usage[wire], rid)
        if wire == "openai-embed":
            return more_wires.embeddings_body(body, self.embed_dims)
        if wire == "gemini-embed":
            usage = self.gemini_embed_usage
            return more_wires.gemini_embed_body(logged.path, body, self.embed_dims, usage)
        if wire == "anthropic":
            return {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", ""),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": self.usage["anthropic"],
            }
        if wire == "gemini":
            model = re.search(r"models/([^:]+):", logged.path)
            return {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": self.usage["gemini"],
                "modelVersion": model.group(1) if model else "",
                "responseId": "resp-fake",
            }
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": self.usage["openai"],
        }

    @staticmethod
    def _error_body(wire: str, fault: Fault) -> dict[str, Any]:
        if wire == "anthropic":
            error: dict[str, Any] = {
                "type": _ANTHROPIC_TYPE.get(fault.status, "api_error"),
                "message": fault.message,
            }
            if isinstance(fault.details, dict):
                error["details"] = fault.details
            return {"type": "error", "error": error}
        if wire in ("gemini", "gemini-embed"):
            gerr: dict[str, Any] = {
                "code": fault.status,
                "message": fault.message,
                "status": _GEMINI_STATUS.get(fault.status, "UNKNOWN"),
            }
            if isinstance(fault.details, list):
                gerr["details"] = fault.details
            return {"error": gerr}
        return {"error": {"message": fault.message, "type": "error", "code": fault.code or None}}


def _words(text: str) -> list[str]:
    """Word by word, each with its trailing space (how models stream, roughly)."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


ToolCalls = list[tuple[str, dict[str, Any] | str]]


def _with_tool_calls(wire: str, ok: dict[str, Any], calls: ToolCalls) -> None:
    """Turn a text answer into one asking for `calls` (each wire's shape)."""
    ids = [f"call_fake_{i}" for i in range(len(calls))]
    if wire == "anthropic":
        ok["content"] = [
            {"type": "tool_use", "id": i, "name": name, "input": args}
            for i, (name, args) in zip(ids, calls, strict=True)
        ]
        ok["stop_reason"] = "tool_use"
    elif wire == "gemini":
        ok["candidates"][0]["content"]["parts"] = [
            {"functionCall": {"name": name, "args": args}} for name, args in calls
        ]
    elif wire == "openai-responses":
        ok["output"] = [
            {
                "type": "function_call",
                "id": f"fc_{i}",
                "call_id": i,
                "name": name,
                "arguments": args if isinstance(args, str) else json.dumps(args),
                "status": "completed",
            }
            for i, (name, args) in zip(ids, calls, strict=True)
        ]
    else:
        message = ok["choices"][0]["message"]
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": i,
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in zip(ids, calls, strict=True)
        ]
        ok["choices"][0]["finish_reason"] = "tool_calls"


def _forced_tool(logged: Logged, ok: dict[str, Any], text: str) -> None:
    """Anthropic forced to call one tool answers with that tool_use, as the real API does."""
    body = logged.body if isinstance(logged.body, dict) else {}
    choice = body.get("tool_choice")
    if not (isinstance(choice, dict) and choice.get("type") == "tool"):
        return
    try:
        value = json.loads(text)
    except ValueError:
        return
    if isinstance(value, dict):
        tool_use = {"type": "tool_use", "id": "call_fake_0", "name": choice["name"], "input": value}
        ok["content"] = [tool_use]
        ok["stop_reason"] = "tool_use"


def fake_providers(fake: FakeLLM, **overrides: Any) -> dict[str, ProviderSettings]:
    """Provider settings pointing at the fake; `overrides` apply to every provider."""
    providers = [
        ProviderSettings("openai", "openai", fake.openai_base, "OPENAI_API_KEY"),
        ProviderSettings("anthropic", "anthropic", fake.anthropic_base, "ANTHROPIC_API_KEY"),
        ProviderSettings("gemini", "gemini", fake.gemini_base, "GEMINI_API_KEY"),
        ProviderSettings("local", "openai-compatible", fake.openai_base, None),
        ProviderSettings("responses", "openai-responses", fake.openai_base, "OPENAI_API_KEY"),
        ProviderSettings("mistral", "openai-compatible", fake.openai_base, None, dialect="mistral"),
        ProviderSettings(
            "azure", "azure", fake.base_url, "AZURE_OPENAI_API_KEY", api_version="2024-10-21"
        ),
    ]
    common: dict[str, Any] = {"timeout_s": 2.0, "max_retries": 3, **overrides}
    return {p.name: replace(p, **common) for p in providers}


class PeakReply:
    """A reply (`fake.reply(PeakReply())`) that holds each request `hold_s` and records
    the most requests in flight at once (`peak`): what a concurrency limit let through."""

    def __init__(self, hold_s: float = 0.03) -> None:
        self.hold_s = hold_s
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, _: Logged) -> str:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.hold_s)
        with self._lock:
            self.now -= 1
        return "ok"
