"""The blocking client's transport: `PooledTransport`'s treatment for `complete_sync`.

httpx2's default sync transport (httpcore2's `ConnectionPool`) walks every pooled
connection on each request and each response close, and writes a request's head and its
body in two `send` calls: on a loaded machine each `send` to a local server can cost a
context switch, and in `Runtime.run` the two sends were the largest part of what the
runtime added over one raw request. This transport keeps, per origin, a stack of idle
connections (a list pop/append under one lock) and a bounded semaphore of open ones, and
holds httpcore2's writes back until the response is read, so head and body leave in
one `send`. The HTTP/1.1 work and the socket layer stay httpcore2's (`HTTPConnection`,
`SyncBackend`): one client library, the same exceptions, mapped to httpx2's by httpx2's
own `map_httpcore_exceptions`. The SSL context is built only when an `https` origin is
first connected (a local model server, or the test fakes, is `http`).

Not supported (as `PooledTransport`): proxies (with a proxy in the environment
`_http.new_sync_client` keeps httpx2's transport), HTTP/2, unix sockets.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpcore2
import httpx2
from httpx2._transports.default import map_httpcore_exceptions

from promptctl.providers._http11 import PAST_DEADLINE, plain_body, read_capped_sync
from promptctl.providers._http11_blocking import BlockingConnection, connect
from promptctl.providers._pool import Reply, default_port
from promptctl.providers._transport import route

__all__ = ["SyncPooledClient", "SyncPooledTransport"]

_Origin = tuple[bytes, bytes, int]
_FLUSH_BYTES = 64 * 1024  # a request body larger than this is sent as it comes


class SyncPooledTransport(httpx2.BaseTransport):
    """At most `max_connections` open connections per origin, idle ones reused newest
    first; thread-safe (each thread in flight holds its own connection)."""

    def __init__(
        self,
        max_connections: int,
        *,
        ssl_context: Callable[[], ssl.SSLContext],
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._make_ssl = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._idle: dict[_Origin, list[tuple[float, httpcore2.HTTPConnection]]] = {}
        self._slots: dict[_Origin, threading.BoundedSemaphore] = {}
        self._open: set[httpcore2.HTTPConnection] = set()
        self._backend = _OneSendBackend()
        self._closed = False
        # post_bytes: its own connections (llhttp on blocking sockets) under the same slots
        self._fast_idle: dict[_Origin, list[BlockingConnection]] = {}
        self._fast_open: set[BlockingConnection] = set()
        self._routes: dict[tuple[object, ...], tuple[_Origin, bytes]] = {}
        self._heads: dict[tuple[Any, ...], bytes] = {}

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        origin: _Origin = (url.raw_scheme, url.raw_host, url.port or default_port(url.raw_scheme))
        req = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        slots = self._slots_of(origin)
        pool_timeout = request.extensions.get("timeout", {}).get("pool")
        with map_httpcore_exceptions():
            if not slots.acquire(timeout=pool_timeout):
                raise httpcore2.PoolTimeout("no connection free in time")
            try:
                response, conn = self._send(origin, req)
            except BaseException:
                slots.release()
                raise
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Released(response, conn, self, origin, slots),
            extensions=response.extensions,
        )

    def post_bytes(
        self,
        client: httpx2.Client,
        url: str,
        headers: Mapping[str, str],
        content: bytes,
        timeout: float,
    ) -> Reply:
        """`client.post(url, headers=..., content=..., timeout=...)`, read to the end, as
        `PooledTransport.post_bytes` does for the async client: the same bytes go out,
        without httpx2's request and response objects or h11. A client holding cookies,
        or an answer setting them or needing to be decoded, goes through httpx2."""
        if client.cookies:
            end = time.monotonic() + timeout
            with (
                reads_until(end),
                client.stream(
                    "POST", url, headers=headers, content=content, timeout=timeout
                ) as sent,
            ):
                received = read_capped_sync(sent.iter_bytes(), end)
            return Reply(sent.status_code, sent.headers, received)
        origin, head = route(client, url, headers, self._routes, self._heads)
        head += b"Content-Length: " + str(len(content)).encode() + b"\r\n"
        slots = self._slots_of(origin)
        if not slots.acquire(timeout=timeout):
            raise httpx2.PoolTimeout("no connection free in time")
        try:
            conn = self._take_fast(origin, timeout)
            try:
                status, raw, body = conn.exchange(head, content, timeout)
            finally:
                self._give_back_fast(origin, conn)
        finally:
            slots.release()
        if plain_body(raw):
            return Reply(status, httpx2.Headers(raw), body)
        response = httpx2.Response(
            status,
            headers=raw,
            stream=httpx2.ByteStream(body),
            request=client.build_request("POST", url, headers=headers, content=content),
        )
        try:  # decoded as it is read: a gzip bomb stops at the cap
            decoded = read_capped_sync(response.iter_bytes())
        finally:
            response.close()
        client.cookies.extract_cookies(response)
        return Reply(response.status_code, response.headers, decoded)

    def _slots_of(self, origin: _Origin) -> threading.BoundedSemaphore:
        slots = self._slots.get(origin)
        if slots is None:
            with self._lock:
                slots = self._slots.setdefault(origin, threading.BoundedSemaphore(self._max))
        return slots

    def _take_fast(self, origin: _Origin, timeout: float | None) -> BlockingConnection:
        """An idle `post_bytes` connection still usable, or a new one."""
        stale: list[BlockingConnection] = []
        found: BlockingConnection | None = None
        with self._lock:
            if self._closed:
                raise RuntimeError("Cannot send a request, as the client has been closed.")
            idle = self._fast_idle.get(origin)
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if now - conn.idle_since < self._expiry and conn.is_available():
                    found = conn
                    break
                self._fast_open.discard(conn)
                stale.append(conn)
        for conn in stale:
            conn.close()
        if found is not None:
            return found
        scheme, host, port = origin
        context = self._ssl_context() if scheme == b"https" else None
        conn = connect(host.decode("ascii"), port, context, timeout)
        with self._lock:
            self._fast_open.add(conn)
        return conn

    def _give_back_fast(self, origin: _Origin, conn: BlockingConnection) -> None:
        if conn.is_available():  # read to the end, keep-alive holds
            conn.idle_since = time.monotonic()
            with self._lock:
                if not self._closed:
                    self._fast_idle.setdefault(origin, []).append(conn)
                    return
        with self._lock:
            self._fast_open.discard(conn)
        conn.close()

    def _send(
        self, origin: _Origin, req: httpcore2.Request
    ) -> tuple[httpcore2.Response, httpcore2.HTTPConnection]:
        """Send on an idle connection, or a new one; a connection the server closed
        meanwhile (keep-alive race) is dropped and the next one tried."""
        while True:
            conn, reused = self._take(origin)
            try:
                return conn.handle_request(req), conn
            except httpcore2.ConnectionNotAvailable:
                self._drop(conn)
                if not reused:  # a new connection refusing is not a race: give up
                    raise
            except BaseException:
                self._drop(conn)
                raise

    def _take(self, origin: _Origin) -> tuple[httpcore2.HTTPConnection, bool]:
        """An idle connection still usable (True), or a new one (False)."""
        stale: list[httpcore2.HTTPConnection] = []
        found: httpcore2.HTTPConnection | None = None
        with self._lock:
            if self._closed:
                raise RuntimeError("Cannot send a request, as the client has been closed.")
            idle = self._idle.get(origin)
            now = time.monotonic()
            while idle:
                since, conn = idle.pop()
                if now - since < self._expiry and conn.is_available():
                    found = conn
                    break
                self._open.discard(conn)
                stale.append(conn)
            if found is None:
                scheme, host, port = origin
                found = httpcore2.HTTPConnection(
                    origin=httpcore2.Origin(scheme, host, port),
                    ssl_context=self._ssl_context() if scheme == b"https" else None,
                    keepalive_expiry=self._expiry,
                    network_backend=self._backend,
                )
                self._open.add(found)
                reused = False
            else:
                reused = True
        for conn in stale:
            _close_quietly(conn)
        return found, reused

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self._make_ssl()
        return self._ssl

    def _give_back(self, origin: _Origin, conn: httpcore2.HTTPConnection) -> None:
        if conn.is_idle():  # the response was read to the end and keep-alive holds
            with self._lock:
                if not self._closed:
                    self._idle.setdefault(origin, []).append((time.monotonic(), conn))
                    return
        self._drop(conn)

    def _drop(self, conn: httpcore2.HTTPConnection) -> None:
        """Close a connection that is not going back to the pool."""
        with self._lock:
            self._open.discard(conn)
        _close_quietly(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._open = self._open, set()
            fast, self._fast_open = self._fast_open, set()
            self._idle.clear()
            self._fast_idle.clear()
            self._routes.clear()
            self._heads.clear()
        for conn in conns:
            _close_quietly(conn)
        for raw in fast:
            raw.close()


class SyncPooledClient(httpx2.Client):
    """httpx2's blocking client over a `SyncPooledTransport`, with its `post_bytes`."""

    def __init__(
        self,
        transport: SyncPooledTransport,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.pooled = transport
        super().__init__(transport=transport, timeout=httpx2.Timeout(timeout), headers=headers)

    def post_bytes(
        self, url: str, *, headers: Mapping[str, str], content: bytes, timeout: float
    ) -> Reply:
        return self.pooled.post_bytes(self, url, headers, content, timeout)


class _Released(httpx2.SyncByteStream):
    """The response body; closing it returns the connection and its slot."""

    def __init__(
        self,
        response: httpcore2.Response,
        conn: httpcore2.HTTPConnection,
        pool: SyncPooledTransport,
        origin: _Origin,
        slots: threading.BoundedSemaphore,
    ) -> None:
        self._response = response
        self._conn = conn
        self._pool = pool
        self._origin = origin
        self._slots: threading.BoundedSemaphore | None = slots

    def __iter__(self) -> Iterator[bytes]:
        with map_httpcore_exceptions():
            yield from self._response.iter_stream()

    def close(self) -> None:
        slots, self._slots = self._slots, None
        if slots is None:
            return
        try:
            with map_httpcore_exceptions():
                self._response.close()
        finally:
            self._pool._give_back(self._origin, self._conn)
            slots.release()


def _close_quietly(conn: httpcore2.HTTPConnection) -> None:
    with contextlib.suppress(Exception):  # a socket already reset by the peer
        conn.close()


class _OneSendBackend(httpcore2.NetworkBackend):
    """httpcore2's `SyncBackend` (TCP_NODELAY, its timeouts and error mapping), with
    streams that send a request's head and body together."""

    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _OneSendStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


_reads = threading.local()


@contextlib.contextmanager
def reads_until(end: float | None) -> Iterator[None]:
    """The reads of this thread's httpcore2 connections (a stream's head and chunks, a
    whole call sent through httpx2) end by `end`, a `time.monotonic()` value, whatever
    each read's own timeout: a server trickling bytes resets those for ever."""
    previous = getattr(_reads, "end", None)
    _reads.end = end
    try:
        yield
    finally:
        _reads.end = previous


class _OneSendStream(httpcore2.NetworkStream):
    """Writes are held until the next read (or a large request) and sent as one."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            self._flush(timeout)
        end = getattr(_reads, "end", None)
        if end is not None:  # `reads_until`
            left = end - time.monotonic()
            if left <= 0:
                raise httpcore2.ReadTimeout(PAST_DEADLINE)
            timeout = left if timeout is None else min(timeout, left)
        try:
            return self._inner.read(max_bytes, timeout)
        except httpcore2.ReadTimeout:
            if end is not None and time.monotonic() >= end:  # the deadline, not the read's
                raise httpcore2.ReadTimeout(PAST_DEADLINE) from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """httpcore2 writes the head, then the body: one `send` instead of two."""
        self._pending.append(buffer)
        self._pending_bytes += len(buffer)
        if self._pending_bytes >= _FLUSH_BYTES:
            self._flush(timeout)

    def _flush(self, timeout: float | None) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self._inner.write(data, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        return _OneSendStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
