"""HTTP/1.1 client connections on an asyncio protocol: the wire under `PooledTransport`.

httpcore2 sends a request through h11, which builds and validates every header of every
request and parses the answer through a general event machine, over stream reader and
writer objects: ~0.15 ms of CPU per request, more than the rest of the transport. Here a
request's head is written as bytes in one `write` (its headers validated once per
distinct set, then reused: a provider sends the same ones each time) and the answer is
parsed where its bytes arrive. What a provider's API needs of HTTP/1.1 is covered:
keep-alive, `Content-Length`, chunked and read-to-close bodies, interim 1xx answers,
streamed (SSE) bodies, TLS, and read, write and connect timeouts. Errors are httpx2's
own (`ConnectError`, `ReadTimeout`, `RemoteProtocolError`, ...), as from its transports.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2

__all__ = ["Answer", "Body", "Connection", "encode_head", "open_connection"]

_MAX_HEAD = 64 * 1024  # a response head larger than this is refused
_HIGH_WATER = 256 * 1024  # stop reading the socket while this much is unread
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")  # no control bytes but tab (RFC 9110 5.5)
_TARGET = re.compile(rb"[\x21-\x7e]+")  # no space, no control byte
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]{1,16})[ \t]*(?:;[^\r\n]*)?")


def encode_head(
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    heads: dict[tuple[Any, ...], bytes],
) -> bytes:
    """The request line and headers, validated once per distinct set (a CR or LF in a
    value, header injection, is refused) and reused: a provider sends the same headers
    each time, but the `Content-Length` (httpx2 puts it last) that is added here.
    `heads` is the caller's cache (a transport's: it holds keys, and goes with it)."""
    length = None
    if headers and headers[-1][0] == b"Content-Length" and headers[-1][1].isdigit():
        length = headers[-1][1]
        headers = headers[:-1]
    key = (method, target, *headers)
    head = heads.get(key)
    if head is None:
        verb = method.encode()
        if not _TOKEN.fullmatch(verb) or not _TARGET.fullmatch(target):
            raise httpx2.LocalProtocolError(f"invalid request line: {method!r} {target!r}")
        lines = [verb + b" " + target + b" HTTP/1.1\r\n"]
        for name, value in headers:
            if not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
                raise httpx2.LocalProtocolError(f"invalid header: {name!r}")
            lines.append(name + b": " + value.strip(b" \t") + b"\r\n")
        head = b"".join(lines)
        if len(heads) >= 256:  # a bound for programs that vary their headers
            heads.clear()
        heads[key] = head
    if length is not None:
        return head + b"Content-Length: " + length + b"\r\n"
    return head


async def open_connection(
    host: str, port: int, ssl_context: ssl.SSLContext | None, timeout: float | None
) -> Connection:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(
                lambda: Connection(loop),
                host,
                port,
                ssl=ssl_context,
                server_hostname=host if ssl_context is not None else None,
            )
    except TimeoutError:
        raise httpx2.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
    except (OSError, ssl.SSLError) as exc:
        raise httpx2.ConnectError(str(exc) or type(exc).__name__) from exc
    return conn


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer read to the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None  # set while writing is paused
        self._paused = False
        self._eof = False  # the peer closed (or the connection was lost)
        self._lost: BaseException | None = None
        self._in_use = False
        self.reusable = True  # False once anything leaves the connection's state unknown
        self.idle_since = 0.0

    # ---- protocol callbacks ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if not self._in_use:  # bytes nobody asked for: the connection's state is unknown
            self.reusable = False
        self._buf += data
        if len(self._buf) > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self.reusable = False
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self.reusable = False
        self._lost = exc
        self._wake()
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ---- the request ----------------------------------------------------------------

    def is_available(self) -> bool:
        """Idle and still open: the server has not closed it nor sent anything since."""
        return self.reusable and not self._eof and not self._in_use

    def get_extra_info(self, info: str) -> Any:
        """As httpcore2's network streams (the response's `network_stream` extension)."""
        if self._transport is None:
            return None
        names = {"client_addr": "sockname", "server_addr": "peername"}
        return self._transport.get_extra_info(names.get(info, info))

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    async def send(
        self,
        head: bytes,
        method: str,
        body: bytes | AsyncIterable[bytes],
        timeouts: dict[str, Any],
        request: httpx2.Request | None = None,
        *,
        chunked: bool = False,
    ) -> Answer:
        """Write a request (`head`: its request line and headers, encoded; `body` in one
        piece, or as it is produced, `chunked` or not) and read the answer's head. The
        answer's body must be read or closed before the connection takes another request.
        `request` only goes into the errors raised."""
        transport = self._transport
        assert transport is not None and not self._in_use
        self._in_use = True
        self.reusable = False  # until the answer has been read to the end
        if isinstance(body, bytes):
            transport.write(head + b"\r\n" + body)
        else:
            transport.write(head + b"\r\n")
            async for part in body:
                if chunked and part:
                    transport.write(b"%x\r\n%b\r\n" % (len(part), part))
                elif part:
                    transport.write(part)
                await self._drain(request, timeouts.get("write"))
            if chunked:
                transport.write(b"0\r\n\r\n")
        await self._drain(request, timeouts.get("write"))
        read_timeout = timeouts.get("read")
        while True:
            status, reason, version, headers = await self._head(request, read_timeout)
            if status >= 200 or status == 101:
                break  # 1xx: an interim answer (100 Continue, 103 Early Hints); read on
        framing = _framing(status, method, headers)
        keep = version == b"HTTP/1.1" and not _has_token(headers, b"connection", b"close")
        return Answer(
            status, reason, version, headers, Body(self, request, framing, keep, read_timeout)
        )

    async def _drain(self, request: httpx2.Request | None, timeout: float | None) -> None:
        drained = self._drained
        if drained is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await drained
        except TimeoutError:
            raise httpx2.WriteTimeout("sending the request timed out", request=request) from None
        if self._eof:
            raise httpx2.WriteError(str(self._lost or "connection closed"), request=request)

    async def _more(self, request: httpx2.Request | None, timeout: float | None) -> None:
        """Wait until more bytes (or the end) arrive; ReadTimeout after `timeout`."""
        if self._eof:
            return
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        waiter = self._waiter = self._loop.create_future()
        timer = None
        if timeout is not None:
            timer = self._loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            raise httpx2.ReadTimeout("reading the response timed out", request=request) from None
        finally:
            if timer is not None:
                timer.cancel()

    async def _head(
        self, request: httpx2.Request | None, timeout: float | None
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        buf = self._buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            if len(buf) > _MAX_HEAD:
                raise httpx2.RemoteProtocolError("response head too large", request=request)
            if self._eof:
                raise httpx2.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            await self._more(request, timeout)
        lines = bytes(buf[:end]).split(b"\r\n")
        del buf[: end + 4]
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise httpx2.RemoteProtocolError(f"bad status line {lines[0][:80]!r}", request=request)
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise httpx2.RemoteProtocolError(f"bad header line {line[:80]!r}", request=request)
            headers.append((name, value.strip(b" \t")))
        return int(code), reason, version, headers

    async def read_body(
        self, request: httpx2.Request | None, framing: int, timeout: float | None
    ) -> AsyncIterator[bytes]:
        """The body's bytes as they come: `framing` is a length, -1 chunked, -2 to close."""
        buf = self._buf
        if framing >= 0:
            left = framing
            while left:
                if not buf:
                    if self._eof:
                        raise _incomplete(request)
                    await self._more(request, timeout)
                    continue
                part = bytes(buf[:left])
                del buf[: len(part)]
                left -= len(part)
                yield part
        elif framing == -1:
            while True:
                while (end := buf.find(b"\r\n")) < 0:
                    if self._eof or len(buf) > 4096:
                        raise _incomplete(request)
                    await self._more(request, timeout)
                size_line = _CHUNK_SIZE.fullmatch(bytes(buf[:end]))
                if size_line is None:
                    raise httpx2.RemoteProtocolError("bad chunk size line", request=request)
                size = int(size_line.group(1), 16)
                del buf[: end + 2]
                if size == 0:
                    break
                while size:  # the chunk's bytes, passed on as they arrive
                    if not buf:
                        if self._eof:
                            raise _incomplete(request)
                        await self._more(request, timeout)
                        continue
                    part = bytes(buf[:size])
                    del buf[: len(part)]
                    size -= len(part)
                    yield part
                while len(buf) < 2:
                    if self._eof:
                        raise _incomplete(request)
                    await self._more(request, timeout)
                if buf[:2] != b"\r\n":
                    raise httpx2.RemoteProtocolError("bad chunk end", request=request)
                del buf[:2]
            while (end := buf.find(b"\r\n")) != 0:  # trailers, up to an empty line
                if end > 0:
                    del buf[: end + 2]
                    continue
                if self._eof or len(buf) > _MAX_HEAD:
                    raise _incomplete(request)
                await self._more(request, timeout)
            del buf[:2]
        else:
            while True:
                if buf:
                    part = bytes(buf)
                    buf.clear()
                    yield part
                elif self._eof:
                    return
                else:
                    await self._more(request, timeout)

    def done(self, *, reusable: bool) -> None:
        """The answer was read to the end (`reusable`: keep-alive holds), or abandoned."""
        self._in_use = False
        self.reusable = reusable and not self._eof and not self._buf
        if not self.reusable:
            self.close()


@dataclass(frozen=True, slots=True)
class Answer:
    """A response's status line and headers as they came, and its body to read."""

    status: int
    reason: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    body: Body

    def decoded(self) -> bool:
        """Whether the body is sent as it is (no `Content-Encoding` to undo)."""
        return all(
            name.lower() != b"content-encoding" or value.strip().lower() == b"identity"
            for name, value in self.headers
        )


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _incomplete(request: httpx2.Request | None) -> httpx2.RemoteProtocolError:
    return httpx2.RemoteProtocolError(
        "peer closed connection without sending complete message body", request=request
    )


def _has_token(headers: list[tuple[bytes, bytes]], name: bytes, token: bytes) -> bool:
    return any(
        n.lower() == name and token in (t.strip().lower() for t in v.split(b","))
        for n, v in headers
    )


def _framing(status: int, method: str, headers: list[tuple[bytes, bytes]]) -> int:
    """How the body ends (RFC 9112 6.3): a length (0: no body), -1 chunked, -2 at close."""
    if method == "HEAD" or status in (204, 304) or status < 200:
        return 0
    length = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"transfer-encoding":
            codings = [c.strip().lower() for c in value.split(b",")]
            return -1 if codings[-1] == b"chunked" else -2
        if lower == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise httpx2.RemoteProtocolError(f"bad content-length {value[:40]!r}")
            length = int(value)
    return -2 if length is None else length


class Body(httpx2.AsyncByteStream):
    """A response's body on its connection; the pool takes the connection back on close."""

    def __init__(
        self,
        conn: Connection,
        request: httpx2.Request | None,
        framing: int,
        keep_alive: bool,
        timeout: float | None,
    ) -> None:
        self.conn = conn
        self._request = request
        self._framing = framing
        self._keep = keep_alive and framing != -2
        self._timeout = timeout
        self.complete = False
        self.on_close: Any = None  # set by the pool: called once with the connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self.conn.read_body(self._request, self._framing, self._timeout):
                yield part
        except BaseException:
            self.conn.reusable = False
            raise
        self.complete = True

    async def aclose(self) -> None:
        on_close, self.on_close = self.on_close, None
        self.conn.done(reusable=self.complete and self._keep)
        if on_close is not None:
            on_close(self.conn)
