"""providers/_direct: a provider call without httpx2 sends the bytes httpx2's client sends,
reads the answer as httpx2 reads it, and hands what it does not take to httpx2."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import httpx2
import pytest
from test_http11 import _direct_run, _sends

from promptctl.providers._direct import CLIENT_HEADERS, DirectClient, Headers, direct_route
from promptctl.providers._transport import route

URLS = [
    "http://127.0.0.1:8091/v1/chat/completions",
    "https://api.openai.com/v1/chat/completions",
    "https://api.openai.com:443/v1/responses",
    "http://localhost:80/v1/embeddings",
    "http://localhost:8080",
    "https://api.anthropic.com/v1/messages",
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
    "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
    "https://host/a%2Fb/c?x=1&y=%20z",
    "http://LOCALHOST:8091/v1",
    "HTTP://localhost/v1",
    "http://localhost/v1/../x",
    "http://localhost/v1/./x",
    "http://localhost/a b",
    "http://localhost/ü",
    "http://bücher.example/v1",
    "http://[::1]:8091/v1",
    "http://user:pw@localhost/v1",
    "http://localhost/v1#frag",
    "http://localhost/v1?q=a b",
    "http://localhost/%zz",
    "http://localhost:0/v1",
    "http://localhost:99999/v1",
    "http://localhost/{x}",
]
HEADER_SETS: list[dict[str, str]] = [
    {},
    {"authorization": "Bearer sk-1", "content-type": "application/json"},
    {"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"},
    {"User-Agent": "mine/1", "accept": "application/json"},
    {"ACCEPT-ENCODING": "identity", "Connection": "close"},
    {"X-A": "1", "x-a": "2"},
    {"Host": "elsewhere"},
    {"content-length": "5"},
    {"Transfer-Encoding": "chunked"},
    {"x-name": "naïve"},
]


def _httpx_route(url: str, headers: dict[str, str]) -> Any:
    client = httpx2.Client(headers=CLIENT_HEADERS)
    try:
        return route(client, url, headers, {}, {})
    except Exception as exc:  # httpx2 refuses it: the direct path must not take it either
        return type(exc)
    finally:
        client.close()


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("headers", HEADER_SETS, ids=lambda h: ",".join(h) or "none")
def test_the_head_is_httpx2s_or_the_call_goes_to_httpx2(url: str, headers: dict[str, str]) -> None:
    direct = direct_route(url, headers, {}, {})
    if direct is not None:
        assert direct == _httpx_route(url, headers)


@pytest.mark.parametrize("url", URLS[:9])
@pytest.mark.parametrize("headers", HEADER_SETS[:6], ids=lambda h: ",".join(h) or "none")
def test_provider_urls_and_headers_take_the_direct_path(url: str, headers: dict[str, str]) -> None:
    """The URLs providers are called at (OpenAI, Anthropic, Gemini's `model:method`,
    Azure's query, a local server) are built here: httpx2 is not imported for them."""
    assert direct_route(url, headers, {}, {}) is not None


@pytest.mark.parametrize(
    "raw",
    [
        [(b"Content-Type", b"application/json"), (b"X-Cost", b"0.5")],
        [(b"set-cookie", b"a=1"), (b"Set-Cookie", b"b=2"), (b"retry-after", b"3")],
        [(b"x-utf8", "naïve".encode()), (b"request-id", b"r1")],
        [(b"x-latin", b"caf\xe9\xff"), (b"x-b", b"ok")],
        [],
    ],
)
def test_answer_headers_read_as_httpx2_reads_them(raw: list[tuple[bytes, bytes]]) -> None:
    ours, theirs = Headers(raw), httpx2.Headers(raw)
    assert dict(ours) == dict(theirs)
    for name in ("content-type", "X-COST", "Set-Cookie", "x-utf8", "x-latin", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert (name in ours) == (name in theirs)


def test_the_same_bytes_go_out_as_from_httpx2s_client() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-litellm-response-cost: 0.5\r\n\r\nok"
    headers = {"authorization": "Bearer k", "content-type": "application/json"}

    async def calls(client: DirectClient, url: str) -> list[Any]:
        direct = await client.post_bytes(url, headers=headers, content=b'{"a":1}', timeout=2.0)
        async with httpx2.AsyncClient(headers=CLIENT_HEADERS) as plain:
            through = await plain.post(url, headers=headers, content=b'{"a":1}')
        return [direct, through]

    (direct, through), seen = _direct_run([_sends(ok), _sends(ok)], calls)
    assert seen[0][1] == seen[1][1]
    assert (direct.status_code, direct.content) == (through.status_code, through.content)
    assert direct.headers["X-LiteLLM-Response-Cost"] == "0.5"
    assert isinstance(direct.headers, Headers)  # read without httpx2's objects


def test_errors_are_httpx2s() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def silent(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.0)  # reads the request, answers after the client gave up

    async def refused() -> None:
        async with DirectClient(2, ssl_context=httpx2.create_ssl_context) as client:
            await client.post_bytes(
                f"http://127.0.0.1:{port}/v1", headers={}, content=b"{}", timeout=2.0
            )

    with pytest.raises(httpx2.ConnectError):
        asyncio.run(refused())

    async def calls(client: DirectClient, url: str) -> None:
        await client.post_bytes(url, headers={}, content=b"{}", timeout=0.2)

    with pytest.raises(httpx2.ReadTimeout):
        _direct_run([silent], calls)


def test_a_plain_call_does_not_import_httpx2(tmp_path: Any) -> None:
    """In a fresh interpreter: a call answered plainly leaves httpx2 unimported."""
    import subprocess

    code = """
import asyncio, sys
from promptctl.providers._direct import DirectClient
async def handle(reader, writer):
    await reader.readuntil(b"\\r\\n\\r\\n")
    await reader.readexactly(2)
    writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok")
    await writer.drain()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    async with server, DirectClient(2, ssl_context=None) as client:
        reply = await client.post_bytes(url, headers={"a": "b"}, content=b"{}", timeout=2.0)
    print(reply.status_code, reply.content, "httpx2" in sys.modules)
asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["200", "b'ok'", "False"], out.stderr


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"HTTPS_PROXY": "http://p:1"},
        {"https_proxy": "http://p:1", "HTTPS_PROXY": "http://q:2"},
        {"HTTPS_PROXY": "http://q:2", "https_proxy": ""},
        {"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"},
        {"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"},
        {"All_Proxy": "socks5://p:1", "NO_PROXY": "localhost", "PATH": "/bin"},
        {"ftp_proxy": "http://p:1", "HTTP_PROXY": ""},
    ],
)
def test_proxies_are_read_from_the_environment_as_urllib_reads_them(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import urllib.request

    from promptctl.providers._http import environment_proxies

    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert environment_proxies(environ) == urllib.request.getproxies_environment()
