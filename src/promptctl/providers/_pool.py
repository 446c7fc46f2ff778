"""The async connection pool under the providers' clients, without httpx2.

httpx2's own pool (httpcore2's `AsyncConnectionPool`) re-scans every pooled connection
each time a request is queued, sent or closed: with 50 connections that is ~100
`is_closed`/`is_idle`/`is_available` calls per request, ~20% of an evaluation's CPU per
case. This pool keeps, per origin, a stack of idle connections and a count of open ones:
taking and returning a connection costs a list pop/append. Its connections are
`_http11`'s. Both clients over it share one: `_direct.DirectClient` (a provider call,
no httpx2) and `_transport.PooledTransport` (httpx2's client: streams, compressed
answers, cookies). The SSL context is built only when an `https` origin is first
connected (loading the CA bundle costs ~20-45 ms, and a local model server, or the test
fakes, is `http`). Numbers: docs/performance.md.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promptctl.providers._http11 import (
    Answer,
    Connection,
    http_error,
    is_transport_error,
    open_connection,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx2

__all__ = ["ConnectionPool", "Origin", "Reply"]

Origin = tuple[bytes, bytes, int]  # scheme, host, port


@dataclass(frozen=True, slots=True)
class Reply:
    """What a provider call reads of a response (`post_bytes`): as httpx2.Response has it;
    `headers` read case-insensitively (`_direct.Headers`, or httpx2's)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


class ConnectionPool:
    """At most `max_connections` open connections per origin; idle ones are reused LIFO."""

    def __init__(
        self,
        max_connections: int,
        *,
        keepalive_expiry: float = 5.0,
        ssl_context: Callable[[], ssl.SSLContext],
    ) -> None:
        self.max_connections = max_connections
        self._make_ssl = ssl_context
        self._expiry = keepalive_expiry
        self._idle: dict[Origin, list[Connection]] = {}
        self._slots: dict[Origin, asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self._open: set[Connection] = set()
        # validated request heads, by request line and headers (they hold API keys: kept
        # with the pool, not the process)
        self.heads: dict[tuple[Any, ...], bytes] = {}
        # post_bytes: (url, headers) -> (origin, encoded head), as httpx2 would send them
        self.routes: dict[tuple[object, ...], tuple[Origin, bytes]] = {}

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self._make_ssl()
        return self._ssl

    async def request(
        self,
        origin: Origin,
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
            slots = self._slots[origin] = asyncio.Semaphore(self.max_connections)
        if slots.locked():  # else acquiring cannot wait: no timer needed
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await slots.acquire()
            except TimeoutError:
                raise http_error("PoolTimeout", "no connection free in time", request) from None
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
        self, origin: Origin, request: httpx2.Request | None, timeout: float | None
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
        except Exception as exc:
            if request is not None and is_transport_error(exc):
                exc.request = request  # type: ignore[attr-defined]
            raise
        self._open.add(conn)
        return conn

    def _give_back(self, origin: Origin, conn: Connection, slots: asyncio.Semaphore) -> None:
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
        self.heads.clear()
        self.routes.clear()
        for conn in conns:
            conn.close()


def default_port(scheme: bytes) -> int:
    return 443 if scheme == b"https" else 80
