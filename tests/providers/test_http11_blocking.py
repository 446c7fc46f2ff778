"""providers/_http11_blocking: the blocking client's short path (`post_bytes`), against raw
local servers answering exactly the bytes each test gives, and side by side with
httpx2's own `client.post` on the same client."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from test_sync_transport import BODY, _echo, _raw_server, _read_request, _tls_server_context

from promptctl.providers import _http
from promptctl.providers._sync_transport import SyncPooledClient, SyncPooledTransport

HEADERS = {"authorization": "Bearer k", "content-type": "application/json"}


def _pooled(max_connections: int = 4) -> SyncPooledClient:
    transport = SyncPooledTransport(max_connections, ssl_context=httpx2.create_ssl_context)
    return SyncPooledClient(transport, timeout=5.0)


@contextmanager
def _answers(
    *answers: bytes, close_after: bool = False, closed: threading.Semaphore | None = None
) -> Iterator[tuple[str, list[Any]]]:
    """A server answering request n with `answers[n]`; yields its URL and what it saw,
    (peer, request bytes) per request. `close_after`: it closes each connection after one
    answer (released on `closed` once it has)."""
    queue = list(answers)
    seen: list[tuple[Any, bytes]] = []

    def handle(sock: socket.socket) -> None:
        peer = sock.getpeername()
        buffer = b""
        while queue:
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, rest = buffer.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += sock.recv(65536)
            seen.append((peer, head + b"\r\n\r\n" + rest[:length]))
            buffer = rest[length:]
            sock.sendall(queue.pop(0))
            if close_after:
                sock.close()
                if closed is not None:
                    closed.release()
                return

    with _raw_server(handle) as port:
        yield f"http://127.0.0.1:{port}/v1/x", seen


def test_post_bytes_sends_the_bytes_client_post_sends() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-litellm-response-cost: 0.5\r\n\r\nok"
    with _answers(ok, ok) as (url, seen), _pooled() as client:
        fast = client.post_bytes(url, headers=HEADERS, content=b'{"a":1}', timeout=2.0)
        slow = client.post(url, headers=HEADERS, content=b'{"a":1}', timeout=2.0)
    assert seen[0][1] == seen[1][1]
    assert seen[0][1].startswith(b"POST /v1/x HTTP/1.1\r\n")
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content) == (200, b"ok")
    assert fast.headers["X-LiteLLM-Response-Cost"] == "0.5"  # case-insensitive, as httpx2's


def test_keep_alive_over_chunked_and_length_answers_on_one_connection() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-head: 1\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: 2\r\n\r\n"
    )
    plain = b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"
    with _answers(chunked, plain, plain) as (url, seen), _pooled() as client:
        replies = [client.post_bytes(url, headers={}, content=b"{}", timeout=2.0) for _ in "abc"]
    assert [(r.status_code, r.content) for r in replies] == [
        (200, b"hello world"),
        (201, b"ok"),
        (201, b"ok"),
    ]
    assert replies[0].headers.get("x-head") == "1" and "x-trailer" not in replies[0].headers
    assert len({peer for peer, _ in seen}) == 1  # each answer read to its end: reused


def test_interim_100_continue_is_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nyes"
    with _answers(answer) as (url, _), _pooled() as client:
        reply = client.post_bytes(url, headers={}, content=b"{}", timeout=2.0)
    assert (reply.status_code, reply.content) == (201, b"yes")


def test_a_body_read_to_the_close_then_the_next_call_reconnects() -> None:
    first = b"HTTP/1.1 200 OK\r\n\r\npart one, part two"
    second = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    with _answers(first, second, close_after=True) as (url, seen), _pooled() as client:
        bodies = [client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content]
        bodies.append(client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content)
    assert bodies == [b"part one, part two", b"ok"]
    assert seen[0][0] != seen[1][0]


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    """The keep-alive race: the server closed after answering without saying so."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    closed = threading.Semaphore(0)
    answers = _answers(ok, ok, ok, close_after=True, closed=closed)
    with answers as (url, seen), _pooled(1) as client:
        bodies = []
        for _ in range(3):
            bodies.append(client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content)
            assert closed.acquire(timeout=10)  # the server has closed it (on loopback the
            threading.Event().wait(0.01)  # end arrives at once; a moment for the kernel)
    assert bodies == [b"ok"] * 3
    assert len({peer for peer, _ in seen}) == 3


def test_cookies_are_kept_and_gzip_decoded_as_httpx2_does() -> None:
    packed = gzip.compress(b"zipped")
    first = (
        b"HTTP/1.1 200 OK\r\nset-cookie: session=abc; Path=/\r\ncontent-encoding: gzip\r\n"
        b"content-length: " + str(len(packed)).encode() + b"\r\n\r\n" + packed
    )
    second = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    with _answers(first, second) as (url, seen), _pooled() as client:
        bodies = [client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content]
        bodies.append(client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content)
    assert bodies == [b"zipped", b"ok"]
    assert b"session=abc" not in seen[0][1]
    assert b"\r\nCookie: session=abc\r\n" in seen[1][1]


_CUT = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"
_ENDLESS = b"HTTP/1.1 200 OK\r\nx-big: " + b"v" * 70_000
_TRAILERS = (  # the last chunk and 100 KB of trailers, in one send
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
    + (b"x-t: " + b"v" * 1000 + b"\r\n") * 100
)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (_CUT, "peer closed"),
        (b"", "without sending a response"),
        (b"NOT HTTP AT ALL\r\n\r\n", "malformed response"),
        (_ENDLESS, "head too large"),
        (_TRAILERS, "trailers too large"),
    ],
    ids=["cut-body", "no-answer", "garbage", "endless-head", "endless-trailers"],
)
def test_broken_answers_are_httpx2s_errors_and_the_pool_recovers(answer: bytes, match: str) -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    with _answers(answer, ok, close_after=True) as (url, _), _pooled(1) as client:
        with pytest.raises(httpx2.RemoteProtocolError, match=match):
            client.post_bytes(url, headers={}, content=b"{}", timeout=2.0)
        again = client.post_bytes(url, headers={}, content=b"{}", timeout=2.0)
    assert again.content == b"ok"


def test_a_stalled_answer_is_a_read_timeout() -> None:
    stop = threading.Event()

    def handle(sock: socket.socket) -> None:
        _read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab")
        stop.wait(5)

    try:
        with (
            _raw_server(handle) as port,
            _pooled() as client,
            pytest.raises(httpx2.ReadTimeout),
        ):
            client.post_bytes(f"http://127.0.0.1:{port}/", headers={}, content=b"{}", timeout=0.2)
    finally:
        stop.set()


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        with _pooled() as client, pytest.raises(httpx2.ConnectError):
            client.post_bytes(f"http://127.0.0.1:{port}/", headers={}, content=b"{}", timeout=2.0)


def test_the_short_path_shares_the_clients_connection_limit() -> None:
    """`max_connections` holds across both paths: with one slot held by a streamed
    response, a short-path call waits for it (and times out when it does not come)."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    with _answers(ok, ok) as (url, _), _pooled(1) as client:
        with client.stream("POST", url, content=b"{}") as held:
            with pytest.raises(httpx2.PoolTimeout):
                client.post_bytes(url, headers={}, content=b"{}", timeout=0.2)
            assert held.read() == b"ok"
        assert client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content == b"ok"


def test_a_closed_client_refuses_the_short_path() -> None:
    client = _pooled()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.post_bytes("http://127.0.0.1:9/", headers={}, content=b"{}", timeout=1.0)


def test_https_through_the_short_path_with_the_environments_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_ctx = _tls_server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    _http._ssl_context.cache_clear()
    peers: list[Any] = []
    try:
        with _raw_server(_echo(peers), server_ctx) as port:
            client = _http.new_sync_client(2)
            try:
                assert isinstance(client, SyncPooledClient)
                url = f"https://localhost:{port}/v1"
                bodies = [
                    client.post_bytes(url, headers={}, content=BODY, timeout=5.0) for _ in "ab"
                ]
            finally:
                client.close()
    finally:
        _http._ssl_context.cache_clear()
    assert [b.content for b in bodies] == [BODY] * 2
    assert len(set(peers)) == 1  # one handshake, then keep-alive


def test_https_short_path_refuses_an_unknown_certificate(tmp_path: Path) -> None:
    server_ctx = _tls_server_context(tmp_path)
    with (
        _raw_server(_echo([]), server_ctx) as port,
        _pooled() as client,
        pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.post_bytes(f"https://localhost:{port}/v1", headers={}, content=BODY, timeout=5.0)


def test_a_blocking_runtime_call_takes_the_short_path(
    tmp_path: Path, fake_llm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Runtime.run` (the blocking client) posts through `post_bytes`, and the answer is
    the one the fake server gave."""
    from fakes.llm_server import fake_providers
    from promptctl.runtime import Runtime
    from runtime.helpers import prompt, write_bundle

    used: list[str] = []
    original = SyncPooledTransport.post_bytes

    def spy(self: SyncPooledTransport, client: Any, url: str, *args: Any) -> Any:
        used.append(url)
        return original(self, client, url, *args)

    monkeypatch.setattr(SyncPooledTransport, "post_bytes", spy)
    fake_llm.reply("routed to billing")
    bundle = tmp_path / "app.bundle.json"
    write_bundle(bundle, [prompt()], fake_providers(fake_llm))
    env = {"OPENAI_API_KEY": "sk-test-blocking-0123456789"}
    with Runtime.load(bundle, env=env, ledger=False) as rt:
        result = rt.run("support/triage", ticket="where is my invoice")
    assert result.text == "routed to billing"
    assert used == [fake_llm.openai_base + "/chat/completions"]


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), not a clean end."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def test_a_reset_while_reading_is_a_read_error_and_the_pool_recovers() -> None:
    served: list[int] = []

    def handle(sock: socket.socket) -> None:
        _read_request(sock)
        served.append(1)
        if len(served) == 1:
            _reset(sock)
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    with _raw_server(handle) as port, _pooled(1) as client:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(httpx2.ReadError):
            client.post_bytes(url, headers={}, content=b"{}", timeout=2.0)
        assert client.post_bytes(url, headers={}, content=b"{}", timeout=2.0).content == b"ok"


def test_a_peer_gone_while_sending_is_a_write_error() -> None:
    """httpx2's errors, by when the reset lands: before the socket is set up (connect),
    while the 4 MB go out (write), or once they are in the buffers (read)."""

    def handle(sock: socket.socket) -> None:
        _reset(sock)  # before reading a byte of the request

    with (
        _raw_server(handle) as port,
        _pooled(1) as client,
        pytest.raises(
            (httpx2.WriteError, httpx2.ReadError, httpx2.RemoteProtocolError, httpx2.ConnectError)
        ),
    ):
        for _ in range(20):  # the reset may land after a first send fits the buffers
            client.post_bytes(
                f"http://127.0.0.1:{port}/", headers={}, content=b"x" * 4_000_000, timeout=2.0
            )
