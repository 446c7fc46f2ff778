"""An httpx2 transport with an O(1) connection pool (chosen by bench/overhead.py).

httpx2's own pool (httpcore2's `AsyncConnectionPool`) re-scans every pooled connection
each time a request is queued, sent or closed: with 50 connections that is ~100
`is_closed`/`is_idle`/`is_available` calls per request, ~20% of an evaluation's CPU per
case. This transport keeps, per origin, a stack of idle connections and a count of
open ones: taking and returning a connection costs a list pop/append.

The connections are `_http11`'s (HTTP/1.1 on an asyncio protocol: a request's head
encoded once per distinct header set and written with its body in one `write`, the
answer parsed by llhttp where it arrives) rather than httpcore2's h11 over anyio, which cost more
than the rest of an evaluated case together; everything above the transport is httpx2's.
The SSL context is built only when an `https` origin is first connected (loading the CA
bundle costs ~20-45 ms, and a local model server, or the test fakes, is `http`).
Numbers: docs/performance.md.

Not supported (promptctl never configures them): proxies, HTTP/2, unix sockets.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from promptctl.providers._http11 import (
    Answer,
    Connection,
    encode_head,
    open_connection,
    plain_body,
    read_capped,
)

__all__ = ["PooledClient", "PooledTransport", "Reply", "default_port", "route"]

_Origin = tuple[bytes, bytes, int]


class PooledTransport(httpx2.AsyncBaseTransport):
    """At most `max_connections` open connections per origin; idle ones are reused LIFO."""

    def __init__(
        self,
        max_connections: int,
        *,
        keepalive_expiry: float = 5.0,
        ssl_context: Callable[[], ssl.SSLContext] = httpx2.create_ssl_context,
    ) -> None:
        self._max = max_connections
        self._make_ssl = ssl_context
        self._expiry = keepalive_expiry
        self._idle: dict[_Origin, list[Connection]] = {}
        self._slots: dict[_Origin, asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self._open: set[Connection] = set()
        # validated request heads, by request line and headers (they hold API keys: kept
        # with the transport, not the process)
        self._heads: dict[tuple[Any, ...], bytes] = {}
        # post_bytes: (url, headers) -> (origin, encoded head), as httpx2 would send them
        self._routes: dict[tuple[object, ...], tuple[_Origin, bytes]] = {}

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self._make_ssl()
        return self._ssl

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        origin: _Origin = (url.raw_scheme, url.raw_host, url.port or default_port(url))
        head = encode_head(request.method, url.raw_path, request.headers.raw, self._heads)
        stream = request.stream
        body: bytes | AsyncIterable[bytes]
        if isinstance(stream, httpx2.ByteStream):
            body = request.content
        else:
            assert isinstance(stream, AsyncIterable)
            body = stream
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        timeouts = request.extensions.get("timeout", {})
        answer = await self._request(origin, head, request.method, body, timeouts, request, chunked)
        return httpx2.Response(
            answer.status,
            headers=answer.headers,
            stream=answer.body,
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
            async with client.stream(
                "POST", url, headers=headers, content=content, timeout=timeout
            ) as sent:
                body = await read_capped(sent.aiter_bytes())
            return Reply(sent.status_code, sent.headers, body)
        origin, head = route(client, url, headers, self._routes, self._heads)
        head += b"Content-Length: " + str(len(content)).encode() + b"\r\n"
        timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        answer = await self._request(origin, head, "POST", content, timeouts, None, False)
        if not plain_body(answer.headers):
            response = httpx2.Response(
                answer.status,
                headers=answer.headers,
                stream=answer.body,
                request=client.build_request("POST", url, headers=headers, content=content),
            )
            try:  # decoded as it is read: a gzip bomb stops at the cap
                decoded = await read_capped(response.aiter_bytes())
            finally:
                await response.aclose()
            client.cookies.extract_cookies(response)
            return Reply(response.status_code, response.headers, decoded)
        try:
            received = await read_capped(answer.body)
        finally:
            await answer.body.aclose()
        return Reply(answer.status, httpx2.Headers(answer.headers), received)

    async def _request(
        self,
        origin: _Origin,
        head: bytes,
        method: str,
        body: bytes | AsyncIterable[bytes],
        timeouts: dict[str, Any],
        request: httpx2.Request | None,
        chunked: bool,
    ) -> Answer:
        """Send on a connection under the origin's limit; the answer's body gives the
        connection (and the slot) back when it is closed."""
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self._max)
        if slots.locked():  # else acquiring cannot wait: no timer needed
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await slots.acquire()
            except TimeoutError:
                raise httpx2.PoolTimeout("no connection free in time", request=request) from None
        else:
            await slots.acquire()
        try:
            conn = await self._take(origin, request, timeouts.get("connect"))
            try:
                answer = await conn.send(head, method, body, timeouts, request, chunked=chunked)
            except BaseException:
                self._drop(conn)
                raise
        except BaseException:
            slots.release()
            raise
        answer.body.on_close = lambda c: self._give_back(origin, c, slots)
        return answer

    async def _take(
        self, origin: _Origin, request: httpx2.Request | None, timeout: float | None
    ) -> Connection:
        """An idle connection still usable, or a new one (one the server closed
        meanwhile, the keep-alive race, is dropped)."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < self._expiry and conn.is_available():
                return conn
            self._drop(conn)
        scheme, host, port = origin
        context = self._ssl_context() if scheme == b"https" else None
        try:
            conn = await open_connection(host.decode("ascii"), port, context, timeout)
        except httpx2.TransportError as exc:
            if request is not None:
                exc.request = request
            raise
        self._open.add(conn)
        return conn

    def _give_back(self, origin: _Origin, conn: Connection, slots: asyncio.Semaphore) -> None:
        if conn.is_available():  # the response was read to the end and keep-alive holds
            conn.idle_since = time.monotonic()
            self._idle.setdefault(origin, []).append(conn)
        else:
            self._drop(conn)
        slots.release()

    def _drop(self, conn: Connection) -> None:
        self._open.discard(conn)
        conn.close()

    async def aclose(self) -> None:
        conns, self._open = self._open, set()
        self._idle.clear()
        self._heads.clear()
        self._routes.clear()
        for conn in conns:
            conn.close()


class PooledClient(httpx2.AsyncClient):
    """httpx2's client over a `PooledTransport`, with its `post_bytes` (a provider call)."""

    def __init__(
        self,
        max_connections: int,
        *,
        timeout: float = 60.0,
        ssl_context: Callable[[], ssl.SSLContext] = httpx2.create_ssl_context,
    ) -> None:
        self.pooled = PooledTransport(max_connections, ssl_context=ssl_context)
        super().__init__(transport=self.pooled, timeout=httpx2.Timeout(timeout))

    async def post_bytes(
        self, url: str, *, headers: Mapping[str, str], content: bytes, timeout: float
    ) -> Reply:
        return await self.pooled.post_bytes(self, url, headers, content, timeout)


@dataclass(frozen=True, slots=True)
class Reply:
    """What a provider call reads of a response (`post_bytes`): as httpx2.Response has it."""

    status_code: int
    headers: httpx2.Headers
    content: bytes


def route(
    client: httpx2.Client | httpx2.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    routes: dict[tuple[object, ...], tuple[_Origin, bytes]],
    heads: dict[tuple[Any, ...], bytes],
) -> tuple[_Origin, bytes]:
    """The origin and the encoded head (without its `Content-Length`) that `client` would
    send a POST of `url` with `headers` with, kept in `routes` (a transport's: the
    heads hold API keys)."""
    key: tuple[object, ...] = (url, *headers.items())
    found = routes.get(key)
    if found is None:
        request = client.build_request("POST", url, headers=headers, content=b"")
        raw = [(n, v) for n, v in request.headers.raw if n.lower() != b"content-length"]
        u = request.url
        found = (
            (u.raw_scheme, u.raw_host, u.port or default_port(u)),
            encode_head("POST", u.raw_path, raw, heads),
        )
        if len(routes) >= 256:
            routes.clear()
        routes[key] = found
    return found


def default_port(url: httpx2.URL) -> int:
    return 443 if url.raw_scheme == b"https" else 80
