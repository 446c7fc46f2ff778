"""PooledTransport: the providers' async connection pool, against real local servers."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from fakes.llm_server import FakeLLM
from promptctl.providers import _http
from promptctl.providers._direct import DirectClient
from promptctl.providers._transport import PooledTransport

BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()


def _client(max_connections: int) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=PooledTransport(max_connections), timeout=5.0)


async def _post(client: Any, url: str, **kwargs: Any) -> Any:
    """A POST of BODY: `post_bytes` (what a provider call sends) on the providers' own
    client, `post` on httpx2's."""
    if isinstance(client, DirectClient):
        timeout = kwargs.get("timeout", 5.0)
        return await client.post_bytes(url, headers={}, content=BODY, timeout=timeout)
    return await client.post(url, content=BODY, **kwargs)


@pytest.fixture(params=["httpx2 client", "direct"])
def make_client(request: pytest.FixtureRequest) -> Callable[[int], Any]:
    """The pool's behaviour under both of its clients: httpx2's over `PooledTransport`,
    and `DirectClient` (every provider call)."""
    if request.param == "direct":
        return lambda n: DirectClient(n, ssl_context=httpx2.create_ssl_context)
    return _client


def test_sequential_requests_reuse_one_connection(fake_llm: FakeLLM, make_client: Any) -> None:
    url = fake_llm.openai_base + "/chat/completions"

    async def main() -> list[int]:
        async with make_client(10) as client:
            return [(await _post(client, url)).status_code for _ in range(5)]

    assert asyncio.run(main()) == [200] * 5
    assert len({r.peer for r in fake_llm.requests}) == 1
    assert all(r.body["model"] == "m" for r in fake_llm.requests)  # head and body both sent


def test_concurrency_is_capped_at_max_connections(fake_llm: FakeLLM, make_client: Any) -> None:
    fake_llm.latency_s = 0.05
    url = fake_llm.openai_base + "/chat/completions"

    async def main() -> list[int]:
        async with make_client(3) as client:
            replies = await asyncio.gather(*(_post(client, url) for _ in range(12)))
        return [r.status_code for r in replies]

    assert asyncio.run(main()) == [200] * 12
    assert len({r.peer for r in fake_llm.requests}) == 3  # 3 connections, each reused


def test_connection_close_from_the_server_opens_a_new_one(
    fake_llm: FakeLLM, make_client: Any
) -> None:
    fake_llm.response_headers = {"connection": "close"}
    url = fake_llm.openai_base + "/chat/completions"

    async def main() -> list[int]:
        async with make_client(2) as client:
            return [(await _post(client, url)).status_code for _ in range(3)]

    assert asyncio.run(main()) == [200] * 3
    assert len({r.peer for r in fake_llm.requests}) == 3


def test_an_idle_connection_the_server_closed_is_not_reused(make_client: Any) -> None:
    """The keep-alive race: the server closed the socket after answering, without
    saying so; the next request must go out on a new connection, not fail."""
    reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    peers: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername"))
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(reply)
        await writer.drain()
        writer.close()  # keep-alive promised (HTTP/1.1, no `connection: close`), not kept

    async def main() -> list[bytes]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        bodies = []
        async with server, make_client(1) as client:
            for _ in range(3):
                bodies.append((await _post(client, f"http://127.0.0.1:{port}/")).content)
                await asyncio.sleep(0.05)  # the close reaches the client meanwhile
        return bodies

    assert asyncio.run(main()) == [b"ok"] * 3
    assert len(set(peers)) == 3


def test_read_timeout_is_httpx2s_timeout(fake_llm: FakeLLM, make_client: Any) -> None:
    fake_llm.timeout(1.0)
    url = fake_llm.openai_base + "/chat/completions"

    async def main() -> None:
        async with make_client(2) as client:
            await _post(client, url, timeout=0.1)

    with pytest.raises(httpx2.ReadTimeout):
        asyncio.run(main())


def test_refused_connection_is_httpx2s_connect_error(make_client: Any) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        async with make_client(2) as client:
            await _post(client, f"http://127.0.0.1:{port}/")

    with pytest.raises(httpx2.ConnectError):
        asyncio.run(main())


def test_dropped_socket_is_a_transport_error_and_the_pool_recovers(
    fake_llm: FakeLLM, make_client: Any
) -> None:
    fake_llm.drop()
    url = fake_llm.openai_base + "/chat/completions"

    async def main() -> tuple[type[BaseException] | None, int]:
        async with make_client(1) as client:  # one slot: a leaked slot would hang the retry
            error: type[BaseException] | None = None
            try:
                await _post(client, url)
            except httpx2.TransportError as exc:
                error = type(exc)
            again = await asyncio.wait_for(_post(client, url), 5)
            return error, again.status_code

    error, status = asyncio.run(main())
    assert error is not None and issubclass(error, httpx2.TransportError)
    assert status == 200


def test_no_ssl_context_for_plain_http(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs tens of ms: an http-only run never does it."""
    built: list[int] = []
    real = httpx2.create_ssl_context
    monkeypatch.setattr(httpx2, "create_ssl_context", lambda *a, **k: built.append(1) or real())

    async def main() -> int:
        client = _http.new_client(4)
        try:
            return (await _post(client, fake_llm.openai_base + "/chat/completions")).status_code
        finally:
            await client.aclose()

    assert asyncio.run(main()) == 200
    assert built == []


def test_an_environment_proxy_keeps_httpx2s_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PooledTransport connects directly; with a proxy configured httpx2 must route."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = _http.new_client(4)
    try:
        assert isinstance(client, httpx2.AsyncClient)
        assert not isinstance(client._transport, PooledTransport)
    finally:
        asyncio.run(client.aclose())
    monkeypatch.delenv("HTTPS_PROXY")
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = _http.new_client(4)
    try:
        assert isinstance(client, DirectClient)
        assert isinstance(client.httpx()._transport, PooledTransport)
        assert client.httpx().pooled.pool is client.pool  # one pool for both paths
    finally:
        asyncio.run(client.aclose())


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for `localhost` and its key, written as PEM (it is its own CA)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_goes_through_tls_with_the_environments_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real providers are https: the handshake (server name, verification against the CA
    that SSL_CERT_FILE names) and keep-alive over TLS, against a local TLS server."""
    import ssl

    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    peers: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername"))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> tuple[list[bytes], str | None]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server, _client(2) as client:
            replies = [await _post(client, f"https://localhost:{port}/v1") for _ in range(3)]
            version = replies[0].extensions["network_stream"].get_extra_info("ssl_object")
            return [r.content for r in replies], version.version() if version else None

    bodies, tls = asyncio.run(main())
    assert bodies == [BODY] * 3
    assert tls is not None and tls.startswith("TLS")
    assert len(set(peers)) == 1  # one handshake, then keep-alive


def test_https_refuses_an_unknown_certificate(tmp_path: Path, make_client: Any) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)  # not trusted: SSL_CERT_FILE is not set
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server, make_client(2) as client:
            await _post(client, f"https://localhost:{port}/v1")

    with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(main())


def test_clients_of_one_process_share_the_ca_bundle_each_setting_loads_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event loop gets its own client (`asyncio.run` per call makes one each
    time); loading the CA bundle (~20 ms) happens once per process and SSL_CERT_FILE."""
    import ssl

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    built: list[str | None] = []
    real = httpx2.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(os.environ.get("SSL_CERT_FILE"))
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx2, "create_ssl_context", counting)
    _http._ssl_context.cache_clear()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(int(head.lower().split(b"content-length:")[1].split()[0]))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def one_call() -> bytes:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        client = _http.new_client(2)
        try:
            async with server:
                return (await _post(client, f"https://localhost:{port}/v1")).content
        finally:
            await client.aclose()

    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert [asyncio.run(one_call()) for _ in range(3)] == [BODY] * 3
        assert built == [str(cert)]
        other = tmp_path / "other.pem"
        other.write_bytes(cert.read_bytes())
        monkeypatch.setenv("SSL_CERT_FILE", str(other))
        assert asyncio.run(one_call()) == BODY
        assert built == [str(cert), str(other)]
    finally:
        _http._ssl_context.cache_clear()
