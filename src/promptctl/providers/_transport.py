"""httpx2's transport over `_pool.ConnectionPool` (chosen by bench/overhead.py), and
httpx2's client over it with its `post_bytes` short path.

The connections are `_http11`'s (HTTP/1.1 on an asyncio protocol: a request's head
encoded once per distinct header set and written with its body in one `write`, the
answer parsed by llhttp where it arrives) rather than httpcore2's h11 over anyio, which
cost more than the rest of an evaluated case together; everything above the transport
is httpx2's. A provider call does not come here at all unless it needs httpx2 (a
proxy, a stream, a compressed answer, cookies): `_direct.DirectClient` sends it over
the same pool without importing httpx2. Numbers: docs/performance.md.

Not supported (promptctl never configures them): proxies, HTTP/2, unix sockets.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any

import httpx2

from promptctl.providers._http11 import (
    Answer,
    Body,
    encode_head,
    plain_body,
    read_capped,
    whole_call_timeouts,
)
from promptctl.providers._pool import ConnectionPool, Origin, Reply, default_port

__all__ = ["HttpxBody", "PooledClient", "PooledTransport", "decoded_reply", "route"]


class PooledTransport(httpx2.AsyncBaseTransport):
    """httpx2's transport over a `ConnectionPool` (its own, or one shared with a
    `DirectClient`): at most `max_connections` open connections per origin."""

    def __init__(
        self,
        max_connections: int = 100,
        *,
        keepalive_expiry: float = 5.0,
        ssl_context: Callable[[], ssl.SSLContext] = httpx2.create_ssl_context,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.pool = pool or ConnectionPool(
            max_connections, keepalive_expiry=keepalive_expiry, ssl_context=ssl_context
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        origin: Origin = (url.raw_scheme, url.raw_host, url.port or default_port(url.raw_scheme))
        head = encode_head(request.method, url.raw_path, request.headers.raw, self.pool.heads)
        stream = request.stream
        body: bytes | AsyncIterable[bytes]
        if isinstance(stream, httpx2.ByteStream):
            body = request.content
        else:
            assert isinstance(stream, AsyncIterable)
            body = stream
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        timeouts = request.extensions.get("timeout", {})
        answer = await self.pool.request(
            origin, head, request.method, body, timeouts, request, chunked
        )
        return httpx2.Response(
            answer.status,
            headers=answer.headers,
            stream=HttpxBody(answer.body),
            extensions={
                "http_version": answer.version,
                "reason_phrase": answer.reason,
                "network_stream": answer.body.conn,
            },
        )

    async def post_bytes(
        self,
        client: httpx2.AsyncClient,
        url: str,
        headers: Mapping[str, str],
        content: bytes,
        timeout: float,
    ) -> Reply:
        """`client.post(url, headers=..., content=..., timeout=...)`, read to the end,
        without building httpx2's request and response objects: the same bytes go out
        (the request's head is the one `client.build_request` makes, kept per URL and
        headers). A client holding cookies, or an answer setting them or needing to be
        decoded (gzip), goes through `client` as usual."""
        if client.cookies:
            end = asyncio.get_running_loop().time() + timeout
            async with client.stream(
                "POST", url, headers=headers, content=content, timeout=timeout
            ) as sent:
                body = await read_capped(sent.aiter_bytes(), end)
            return Reply(sent.status_code, sent.headers, body)
        origin, head = route(client, url, headers, self.pool.routes, self.pool.heads)
        head += b"Content-Length: " + str(len(content)).encode() + b"\r\n"
        timeouts = whole_call_timeouts(timeout)
        answer = await self.pool.request(origin, head, "POST", content, timeouts, None, False)
        if not plain_body(answer.headers):
            return await decoded_reply(client, answer, url, headers, content)
        try:
            received = await read_capped(answer.body)
        finally:
            await answer.body.aclose()
        return Reply(answer.status, httpx2.Headers(answer.headers), received)

    async def aclose(self) -> None:
        await self.pool.aclose()


async def decoded_reply(
    client: httpx2.AsyncClient,
    answer: Answer,
    url: str,
    headers: Mapping[str, str],
    content: bytes,
) -> Reply:
    """An answer to undo a `Content-Encoding` of, or keep a cookie from: through httpx2's
    response object, decoded as it is read (a gzip bomb stops at the cap)."""
    response = httpx2.Response(
        answer.status,
        headers=answer.headers,
        stream=HttpxBody(answer.body),
        request=client.build_request("POST", url, headers=headers, content=content),
    )
    try:
        decoded = await read_capped(response.aiter_bytes())
    finally:
        await response.aclose()
    client.cookies.extract_cookies(response)
    return Reply(response.status_code, response.headers, decoded)


class HttpxBody(httpx2.AsyncByteStream):
    """An `_http11.Body` as httpx2's response objects take a stream."""

    def __init__(self, body: Body) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.body:
            yield part

    async def aclose(self) -> None:
        await self.body.aclose()


class PooledClient(httpx2.AsyncClient):
    """httpx2's client over a `PooledTransport`, with its `post_bytes` (a provider call)."""

    def __init__(
        self,
        max_connections: int = 100,
        *,
        timeout: float = 60.0,
        ssl_context: Callable[[], ssl.SSLContext] = httpx2.create_ssl_context,
        pool: ConnectionPool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.pooled = PooledTransport(max_connections, ssl_context=ssl_context, pool=pool)
        super().__init__(transport=self.pooled, timeout=httpx2.Timeout(timeout), headers=headers)

    async def post_bytes(
        self, url: str, *, headers: Mapping[str, str], content: bytes, timeout: float
    ) -> Reply:
        return await self.pooled.post_bytes(self, url, headers, content, timeout)


def route(
    client: httpx2.Client | httpx2.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    routes: dict[tuple[object, ...], tuple[Origin, bytes]],
    heads: dict[tuple[Any, ...], bytes],
) -> tuple[Origin, bytes]:
    """The origin and the encoded head (without its `Content-Length`) that `client` would
    send a POST of `url` with `headers` with, kept in `routes` (a pool's: the heads hold
    API keys)."""
    key: tuple[object, ...] = (url, *headers.items())
    found = routes.get(key)
    if found is None:
        request = client.build_request("POST", url, headers=headers, content=b"")
        raw = [(n, v) for n, v in request.headers.raw if n.lower() != b"content-length"]
        u = request.url
        found = (
            (u.raw_scheme, u.raw_host, u.port or default_port(u.raw_scheme)),
            encode_head("POST", u.raw_path, raw, heads),
        )
        if len(routes) >= 256:
            routes.clear()
        routes[key] = found
    return found
