"""An httpx2 transport with an O(1) connection pool (chosen by bench/overhead.py).

httpx2's own pool (httpcore2's `AsyncConnectionPool`) re-scans every pooled connection
each time a request is queued, sent or closed: with 50 connections that is ~100
`is_closed`/`is_idle`/`is_available` calls per request, ~20% of an evaluation's CPU per
case. This transport keeps, per origin, a stack of idle connections and a count of
open ones: taking and returning a connection costs a list pop/append. The HTTP/1.1 work
itself stays httpcore2's (`AsyncHTTPConnection`), so it is still one client library.

Two more costs go: httpcore2's default network layer (anyio, a cancel scope per read and
write) is replaced by `AsyncioBackend` on plain asyncio streams, which also sends a
request's head and body in one `send`; and the SSL context is built only when an `https`
origin is first connected (loading the CA bundle costs ~20-45 ms, and a local model
server, or the test fakes, is `http`). Numbers: docs/performance.md.

Not supported (promptctl never configures them): proxies, HTTP/2, unix sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import httpcore2
import httpx2

# httpx2 maps httpcore2's exceptions to its own (ConnectError, ReadTimeout, ...) in its
# transport module; the same mapping keeps `except httpx2.TransportError` working.
from httpx2._transports.default import map_httpcore_exceptions

__all__ = ["PooledTransport"]

_Origin = tuple[bytes, bytes, int]
_FLUSH_BYTES = 64 * 1024  # a request body larger than this is sent as it comes


class PooledTransport(httpx2.AsyncBaseTransport):
    """At most `max_connections` open connections per origin; idle ones are reused LIFO."""

    def __init__(self, max_connections: int, *, keepalive_expiry: float = 5.0) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._idle: dict[_Origin, list[tuple[float, httpcore2.AsyncHTTPConnection]]] = {}
        self._slots: dict[_Origin, asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self._open: set[httpcore2.AsyncHTTPConnection] = set()
        self._backend = AsyncioBackend()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx2.create_ssl_context()
        return self._ssl

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        origin: _Origin = (url.raw_scheme, url.raw_host, url.port or _default_port(url))
        req = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self._max)
        pool_timeout = request.extensions.get("timeout", {}).get("pool")
        with map_httpcore_exceptions():
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise httpcore2.PoolTimeout("no connection free in time") from None
            try:
                response, conn = await self._send(origin, req)
            except BaseException:
                slots.release()
                raise
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Released(response, conn, self, origin, slots),
            extensions=response.extensions,
        )

    async def _send(
        self, origin: _Origin, req: httpcore2.Request
    ) -> tuple[httpcore2.Response, httpcore2.AsyncHTTPConnection]:
        """Send on an idle connection, or a new one; a connection the server closed
        meanwhile (keep-alive race) is dropped and the next one tried."""
        while True:
            conn, reused = self._take(origin)
            try:
                return await conn.handle_async_request(req), conn
            except httpcore2.ConnectionNotAvailable:
                await self._drop(conn)
                if not reused:  # a new connection refusing is not a race: give up
                    raise
            except BaseException:
                await self._drop(conn)
                raise

    def _take(self, origin: _Origin) -> tuple[httpcore2.AsyncHTTPConnection, bool]:
        """An idle connection still usable (True), or a new one (False)."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            since, conn = idle.pop()
            if now - since < self._expiry and conn.is_available():
                return conn, True
            self._open.discard(conn)
            _close_soon(conn)
        scheme, host, port = origin
        conn = httpcore2.AsyncHTTPConnection(
            origin=httpcore2.Origin(scheme, host, port),
            ssl_context=self._ssl_context() if scheme == b"https" else None,
            keepalive_expiry=self._expiry,
            network_backend=self._backend,
        )
        self._open.add(conn)
        return conn, False

    def _give_back(self, origin: _Origin, conn: httpcore2.AsyncHTTPConnection) -> None:
        if conn.is_idle():  # the response was read to the end and keep-alive holds
            self._idle.setdefault(origin, []).append((time.monotonic(), conn))
        else:
            self._open.discard(conn)
            _close_soon(conn)

    async def _drop(self, conn: httpcore2.AsyncHTTPConnection) -> None:
        """Close a failed connection; the failure that got us here is what is raised."""
        self._open.discard(conn)
        await _close_quietly(conn)

    async def aclose(self) -> None:
        conns, self._open = self._open, set()
        self._idle.clear()
        for conn in conns:
            await _close_quietly(conn)


class _Released(httpx2.AsyncByteStream):
    """The response body; closing it returns the connection and its slot."""

    def __init__(
        self,
        response: httpcore2.Response,
        conn: httpcore2.AsyncHTTPConnection,
        pool: PooledTransport,
        origin: _Origin,
        slots: asyncio.Semaphore,
    ) -> None:
        self._response = response
        self._conn = conn
        self._pool = pool
        self._origin = origin
        self._slots: asyncio.Semaphore | None = slots

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_httpcore_exceptions():
            async for part in self._response.aiter_stream():
                yield part

    async def aclose(self) -> None:
        slots, self._slots = self._slots, None
        if slots is None:
            return
        try:
            with map_httpcore_exceptions():
                await self._response.aclose()
        finally:
            self._pool._give_back(self._origin, self._conn)
            slots.release()


def _default_port(url: httpx2.URL) -> int:
    return 443 if url.raw_scheme == b"https" else 80


async def _close_quietly(conn: httpcore2.AsyncHTTPConnection) -> None:
    with contextlib.suppress(Exception):  # a socket already reset by the peer
        await conn.aclose()


def _close_soon(conn: httpcore2.AsyncHTTPConnection) -> None:
    """Close a connection nobody waits on; an idle HTTP/1.1 close only shuts the socket."""
    task: Any = asyncio.ensure_future(_close_quietly(conn))
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Future[None]] = set()


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's network layer on plain asyncio streams.

    httpcore2's default backend goes through anyio, which opens a cancel scope for every
    read and write (~0.1 ms of CPU per request at 50 in flight); `asyncio.timeout` does
    the same job for a fraction of that. Errors map to httpcore2's, as anyio's do.
    """

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        for option in socket_options or ():
            writer.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class AsyncioStream(httpcore2.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            await self._flush(timeout)
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore2.ReadTimeout("reading the response timed out") from None
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Held back until the next read (or a large request): httpcore2 writes a request's
        head and body separately, and one `send` instead of two saves ~40 µs a request."""
        self._pending.append(buffer)
        self._pending_bytes += len(buffer)
        if self._pending_bytes >= _FLUSH_BYTES:
            await self._flush(timeout)

    async def _flush(self, timeout: float | None) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        try:
            self._writer.write(data)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore2.WriteTimeout("sending the request timed out") from None
        except OSError as exc:
            raise httpcore2.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore2.ConnectTimeout("the TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore2.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # an idle keep-alive connection that is readable was closed by the server
            return self._reader.at_eof() or _readable(self._writer.get_extra_info("socket"))
        return None


def _readable(sock: Any) -> bool:
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))
