"""An httpx2 transport with an O(1) connection pool (chosen by bench/overhead.py).

httpx2's own pool (httpcore2's `AsyncConnectionPool`) re-scans every pooled connection
each time a request is queued, sent or closed: with 50 connections that is ~100
`is_closed`/`is_idle`/`is_available` calls per request, ~20% of an evaluation's CPU per
case. This transport keeps, per origin, a stack of idle connections and a count of
open ones: taking and returning a connection costs a list pop/append.

The connections are `_http11`'s (HTTP/1.1 on an asyncio protocol: a request's head
encoded once per distinct header set and written with its body in one `write`, the
answer parsed where it arrives) rather than httpcore2's h11 over anyio, which cost more
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
from typing import Any

import httpx2

from promptctl.providers._http11 import Body, Connection, encode_head, open_connection

__all__ = ["PooledTransport"]

_Origin = tuple[bytes, bytes, int]


class PooledTransport(httpx2.AsyncBaseTransport):
    """At most `max_connections` open connections per origin; idle ones are reused LIFO."""

    def __init__(self, max_connections: int, *, keepalive_expiry: float = 5.0) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._idle: dict[_Origin, list[Connection]] = {}
        self._slots: dict[_Origin, asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self._open: set[Connection] = set()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx2.create_ssl_context()
        return self._ssl

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        origin: _Origin = (url.raw_scheme, url.raw_host, url.port or _default_port(url))
        head = encode_head(request.method, url.raw_path, request.headers.raw)
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self._max)
        timeouts = request.extensions.get("timeout", {})
        if slots.locked():  # else acquiring cannot wait: no timer needed
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await slots.acquire()
            except TimeoutError:
                raise httpx2.PoolTimeout("no connection free in time", request=request) from None
        else:
            await slots.acquire()
        try:
            response = await self._send(origin, head, request, timeouts)
        except BaseException:
            slots.release()
            raise
        body = response.stream
        assert isinstance(body, Body)
        body.on_close = lambda conn: self._give_back(origin, conn, slots)
        return response

    async def _send(
        self, origin: _Origin, head: bytes, request: httpx2.Request, timeouts: dict[str, Any]
    ) -> httpx2.Response:
        conn = await self._take(origin, request, timeouts.get("connect"))
        try:
            return await conn.send(head, request, timeouts)
        except BaseException:
            self._drop(conn)
            raise

    async def _take(
        self, origin: _Origin, request: httpx2.Request, timeout: float | None
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
        for conn in conns:
            conn.close()


def _default_port(url: httpx2.URL) -> int:
    return 443 if url.raw_scheme == b"https" else 80
