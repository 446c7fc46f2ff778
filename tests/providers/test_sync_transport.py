"""SyncPooledTransport: the blocking client's pool, against the real fake server and
local sockets; its errors are checked against httpx2's default transport side by side."""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from httpcore2._backends.sync import SyncStream
from test_transport import _self_signed

from fakes.llm_server import FakeLLM
from promptctl.providers import _http
from promptctl.providers._sync_transport import SyncPooledTransport

BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
Transport = Callable[[int], httpx2.BaseTransport]


def _ours(max_connections: int) -> httpx2.BaseTransport:
    return SyncPooledTransport(max_connections, ssl_context=httpx2.create_ssl_context)


def _default(max_connections: int) -> httpx2.BaseTransport:
    limits = httpx2.Limits(max_connections=max_connections)
    return httpx2.HTTPTransport(limits=limits, verify=_http.ssl_context())  # ~20 ms each built


BOTH = pytest.mark.parametrize("make", [_ours, _default], ids=["pooled", "httpx2-default"])


def _client(max_connections: int, make: Transport = _ours, **kwargs: Any) -> httpx2.Client:
    return httpx2.Client(transport=make(max_connections), timeout=5.0, **kwargs)


def test_sequential_requests_reuse_one_connection_and_send_once_each(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real = SyncStream.write

    def counted(self: Any, buffer: bytes, timeout: float | None = None) -> None:
        writes.append(len(buffer))
        real(self, buffer, timeout)

    monkeypatch.setattr(SyncStream, "write", counted)
    url = fake_llm.openai_base + "/chat/completions"
    with _client(10) as client:
        assert [client.post(url, content=BODY).status_code for _ in range(5)] == [200] * 5
    assert len({r.peer for r in fake_llm.requests}) == 1
    assert all(r.body["model"] == "m" for r in fake_llm.requests)  # head and body both sent
    assert len(writes) == 5  # one send per request: head and body together
    assert all(n > len(BODY) for n in writes)


def test_each_concurrent_thread_gets_its_own_connection_capped_at_max(
    fake_llm: FakeLLM,
) -> None:
    fake_llm.latency_s = 0.1
    url = fake_llm.openai_base + "/chat/completions"
    with _client(3) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: client.post(url, content=BODY).status_code, range(12)))
    assert statuses == [200] * 12
    assert len({r.peer for r in fake_llm.requests}) == 3  # 3 connections, each reused

    fake_llm.requests.clear()
    with _client(10) as client, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: client.post(url, content=BODY), range(4)))
    assert len({r.peer for r in fake_llm.requests}) == 4  # 4 in flight: 4 connections


def test_connection_close_from_the_server_opens_a_new_one(fake_llm: FakeLLM) -> None:
    fake_llm.response_headers = {"connection": "close"}
    url = fake_llm.openai_base + "/chat/completions"
    with _client(2) as client:
        assert [client.post(url, content=BODY).status_code for _ in range(3)] == [200] * 3
    assert len({r.peer for r in fake_llm.requests}) == 3


@contextmanager
def _raw_server(
    handle: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None
) -> Iterator[int]:
    """A threading TCP server on 127.0.0.1 running `handle(sock)` per connection."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            if tls is not None:
                try:
                    sock = tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            try:
                handle(sock)
            finally:
                sock.close()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # a short poll: shutdown() waits for the loop to look (0.5 s by default, per test)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _read_request(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return body


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    """The keep-alive race: the server closed the socket after answering, without saying
    so; the next request must go out on a new connection, not fail."""
    peers: list[Any] = []

    def handle(sock: socket.socket) -> None:
        peers.append(sock.getpeername())
        if _read_request(sock) is not None:
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        sock.close()  # keep-alive promised (HTTP/1.1, no `connection: close`), not kept

    with _raw_server(handle) as port, _client(1) as client:
        bodies = []
        for _ in range(3):
            bodies.append(client.post(f"http://127.0.0.1:{port}/", content=BODY).content)
            threading.Event().wait(0.05)  # the close reaches the client meanwhile
    assert bodies == [b"ok"] * 3
    assert len(set(peers)) == 3


@BOTH
def test_read_timeout_is_httpx2s_read_timeout(fake_llm: FakeLLM, make: Transport) -> None:
    fake_llm.timeout(1.0)
    with _client(2, make) as client, pytest.raises(httpx2.ReadTimeout):
        client.post(fake_llm.openai_base + "/chat/completions", content=BODY, timeout=0.1)


@BOTH
def test_refused_connection_is_httpx2s_connect_error(make: Transport) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with _client(2, make) as client, pytest.raises(httpx2.ConnectError):
        client.post(f"http://127.0.0.1:{port}/", content=BODY)


def _dropped(fake_llm: FakeLLM, make: Transport) -> tuple[type[BaseException] | None, int]:
    fake_llm.drop()
    url = fake_llm.openai_base + "/chat/completions"
    with _client(1, make) as client:  # one slot: a leaked slot would time out the retry
        error: type[BaseException] | None = None
        try:
            client.post(url, content=BODY)
        except httpx2.TransportError as exc:
            error = type(exc)
        return error, client.post(url, content=BODY, timeout=5).status_code


def test_a_dropped_socket_is_the_default_transports_error_and_the_pool_recovers(
    fake_llm: FakeLLM,
) -> None:
    ours = _dropped(fake_llm, _ours)
    assert ours == _dropped(fake_llm, _default)
    assert ours[0] is not None and issubclass(ours[0], httpx2.TransportError)
    assert ours[1] == 200


@BOTH
def test_no_free_connection_in_time_is_httpx2s_pool_timeout(
    fake_llm: FakeLLM, make: Transport
) -> None:
    url = fake_llm.openai_base + "/chat/completions"
    with _client(1, make) as client:
        held = client.send(client.build_request("POST", url, content=BODY), stream=True)
        try:
            with pytest.raises(httpx2.PoolTimeout):
                client.post(url, content=BODY, timeout=httpx2.Timeout(5.0, pool=0.1))
        finally:
            held.close()
        assert client.post(url, content=BODY).status_code == 200  # the slot came back


def test_a_closed_client_refuses_requests(fake_llm: FakeLLM) -> None:
    """The runtime turns this RuntimeError into 'this Runtime is closed' (a racing close)."""
    transport = _ours(2)
    client = httpx2.Client(transport=transport)
    url = fake_llm.openai_base + "/chat/completions"
    assert client.post(url, content=BODY).status_code == 200
    transport.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.post(url, content=BODY)


def test_no_ssl_context_for_plain_http(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs tens of ms: an http-only blocking client never does it."""
    built: list[int] = []
    real = _http._ssl_context.__wrapped__
    _http._ssl_context.cache_clear()
    monkeypatch.setattr(
        _http,
        "_ssl_context",
        lambda *a: built.append(1) or real(*a),  # type: ignore[func-returns-value]
    )
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = _http.new_sync_client(4)
    try:
        assert isinstance(client._transport, SyncPooledTransport)
        assert client.post(fake_llm.openai_base + "/chat/completions", content=BODY).is_success
    finally:
        client.close()
    assert built == []


def test_an_environment_proxy_keeps_httpx2s_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SyncPooledTransport connects directly; with a proxy configured httpx2 must route."""
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = _http.new_sync_client(4)
    try:
        assert not isinstance(client._transport, SyncPooledTransport)
        assert client._mounts  # httpx2 mounted the proxy from the environment
    finally:
        client.close()
    monkeypatch.delenv("HTTPS_PROXY")
    client = _http.new_sync_client(4)
    try:
        assert isinstance(client._transport, SyncPooledTransport)
    finally:
        client.close()


def _tls_server_context(tmp_path: Path) -> ssl.SSLContext:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _echo(peers: list[Any]) -> Callable[[socket.socket], None]:
    def handle(sock: socket.socket) -> None:
        peers.append(sock.getpeername())
        try:
            while (body := _read_request(sock)) is not None:
                sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        except (OSError, ssl.SSLError):
            pass

    return handle


def test_https_goes_through_tls_with_the_environments_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real providers are https: the handshake (server name, verification against the CA
    that SSL_CERT_FILE names) and keep-alive over TLS, through `new_sync_client`."""
    server_ctx = _tls_server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    _http._ssl_context.cache_clear()  # the process's context was built without this CA
    peers: list[Any] = []
    try:
        with _raw_server(_echo(peers), server_ctx) as port:
            client = _http.new_sync_client(2)
            try:
                assert isinstance(client._transport, SyncPooledTransport)
                replies = [client.post(f"https://localhost:{port}/v1", content=BODY) for _ in "abc"]
                tls = replies[0].extensions["network_stream"].get_extra_info("ssl_object")
            finally:
                client.close()
    finally:
        _http._ssl_context.cache_clear()
    assert [r.content for r in replies] == [BODY] * 3
    assert tls is not None and tls.version().startswith("TLS")
    assert len(set(peers)) == 1  # one handshake, then keep-alive


def test_https_refuses_an_unknown_certificate(tmp_path: Path) -> None:
    server_ctx = _tls_server_context(tmp_path)  # not trusted: SSL_CERT_FILE is not set
    with (
        _raw_server(_echo([]), server_ctx) as port,
        _client(2) as client,
        pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.post(f"https://localhost:{port}/v1", content=BODY)
