"""HTTP/1.1 client connections on an asyncio protocol: the wire under `PooledTransport`.

httpcore2 sends a request through h11, which builds and validates every header of every
request and parses the answer through a general event machine, over stream reader and
writer objects: ~0.15 ms of CPU per request, more than the rest of the transport. Here a
request's head is written as bytes in one `write` (its headers validated once per
distinct set, then reused: a provider sends the same ones each time) and the answer is
parsed where its bytes arrive by llhttp (Node.js's parser, through `httptools`, as
uvicorn does): `Content-Length`, chunked (with extensions and trailers) and read-to-close
bodies, interim 1xx answers and malformed input are its business; this module adds what
a client decides: keep-alive, the head's size limit, a response to HEAD, backpressure,
streamed (SSE) bodies handed over as they come, TLS, and read, write and connect
timeouts. Errors are httpx2's own (`ConnectError`, `ReadTimeout`, `RemoteProtocolError`,
...), as from its transports, made when raised: httpx2 (~30 ms to import) is not imported
by a run whose answers all come plain (`_direct.DirectClient`).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import httptools

from promptctl.errors import ProviderError

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "LATE",
    "MAX_ANSWER_BYTES",
    "PAST_DEADLINE",
    "Answer",
    "Body",
    "Connection",
    "answer_too_large",
    "encode_head",
    "http_error",
    "incomplete",
    "late",
    "open_connection",
    "plain_body",
    "read_capped",
    "read_capped_sync",
    "whole_call_timeouts",
]

_MAX_HEAD = 64 * 1024  # a response head larger than this is refused
# A whole answer larger than this is refused, not read to its end: a model's answer is
# kilobytes, 2,048 embeddings of 3,072 floats as JSON ~130 MB. A server (or proxy) sending
# gigabytes, or a gzip bomb, would otherwise take the process's memory.
MAX_ANSWER_BYTES = 256 << 20
_HIGH_WATER = 256 * 1024  # stop reading the socket while this much is unread
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")  # no control bytes but tab (RFC 9110 5.5)
_TARGET = re.compile(rb"[\x21-\x7e]+")  # no space, no control byte
_VERSIONS = {"1.1": b"HTTP/1.1", "1.0": b"HTTP/1.0"}
_NO_HEADERS: list[tuple[bytes, bytes]] = []  # between requests (never appended to)


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
            raise http_error("LocalProtocolError", f"invalid request line: {method!r} {target!r}")
        lines = [verb + b" " + target + b" HTTP/1.1\r\n"]
        for name, value in headers:
            if not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
                raise http_error("LocalProtocolError", f"invalid header: {name!r}")
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
        raise http_error("ConnectTimeout", f"connecting to {host}:{port} timed out") from None
    except (OSError, ssl.SSLError) as exc:
        raise http_error("ConnectError", str(exc) or type(exc).__name__) from exc
    return conn


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer read to the end.

    The bytes are fed to the parser as they arrive (`data_received`); its callbacks
    (`on_status` ... `on_message_complete`) collect the answer's head and body parts,
    which `send` and `read_body` hand over."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser: httptools.HttpResponseParser | None = None  # one per connection
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None  # set while writing is paused
        self._paused = False
        self._eof = False  # the peer closed (or the connection was lost)
        self._lost: BaseException | None = None
        self._in_use = False
        self.reusable = True  # False once anything leaves the connection's state unknown
        self.idle_since = 0.0
        # the answer being read (reset by `send`)
        self._request: httpx2.Request | None = None
        self._method = ""
        self._framing_bytes = 0  # bytes received since the last that carried content
        self._trailer_bytes = 0  # the answer's trailers, as parsed
        self._status = 0
        self._reason = b""
        self._version = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_done = False  # the final (non-1xx) head is parsed
        self._complete = False  # the final answer is parsed to its end
        self._to_close = False  # its body ends when the server closes
        self._keep = False  # keep-alive holds once it is read
        self._stray = False  # bytes came after the answer: the connection is not reused
        self._parts: list[bytes] = []  # body bytes not handed over yet
        self._unread = 0
        self._error: BaseException | None = None  # an httpx2 TransportError
        self._end: float | None = None  # the loop time the whole answer is due by

    # ---- protocol callbacks ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport, whatever the loop: uvloop's (uvicorn's default loop) has the
        # asyncio.Transport methods used here without subclassing it
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._in_use:  # bytes nobody asked for: the connection's state is unknown
            self.reusable = False
            return
        if self._complete or self._error is not None:
            self._stray = True
            return
        head_done, parts = self._head_done, len(self._parts)
        parser = self._parser
        assert parser is not None
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._stray = True  # bytes after a 101 answer: another protocol's
        except httptools.HttpParserError as exc:
            if self._complete:  # the answer is whole; what follows it is not
                self._stray = True
            else:
                cause = exc.__context__
                self._fail(
                    cast(BaseException, cause)
                    if is_transport_error(cause)
                    else http_error(
                        "RemoteProtocolError", f"malformed response: {exc}", request=self._request
                    )
                )
        # a head, or chunk sizes and trailers, past the limit: llhttp would buffer them all
        if self._complete or len(self._parts) > parts or self._head_done > head_done:
            self._framing_bytes = 0
        else:
            self._framing_bytes += len(data)
            if self._framing_bytes > _MAX_HEAD:
                what = "chunk framing or trailers" if head_done else "response head"
                self._fail(
                    http_error("RemoteProtocolError", f"{what} too large", request=self._request)
                )
        if self._unread > _HIGH_WATER and not self._paused and self._transport is not None:
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

    def _fail(self, error: BaseException) -> None:
        """The answer cannot be read: `send` or `read_body` raises `error`."""
        if self._error is None:
            self._error = error
        self.reusable = False

    # ---- parser callbacks (httptools) -----------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer to one request
            self._stray = True

    def on_status(self, status: bytes) -> None:
        self._reason += status  # llhttp may hand it over in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._head_done:  # not a chunked body's trailer (dropped, as httpx2 does)
            self._headers.append((name, value.rstrip(b" \t")))  # llhttp keeps trailing space
            return
        # trailers are counted as they are parsed: a read that also carried the last
        # chunk's content resets `_framing_bytes`, and may hold any number of them
        self._trailer_bytes += len(name) + len(value)
        if self._trailer_bytes > _MAX_HEAD:
            raise http_error(
                "RemoteProtocolError", "chunk framing or trailers too large", request=self._request
            )

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        status = parser.get_status_code()
        if status < 200 and status != 101:  # an interim answer (100 Continue, 103 Early Hints)
            self._reason = b""
            self._headers = []
            return
        version = parser.get_http_version()
        if version not in _VERSIONS:
            raise http_error(
                "RemoteProtocolError",
                f"unsupported HTTP version {version!r}",
                request=self._request,
            )
        self._status = status
        self._version = _VERSIONS[version]
        self._head_done = True
        if self._method == "HEAD" or status == 101:
            # llhttp cannot be told that a response to HEAD has no body: the answer ends
            # here, and the next request gets a new parser
            self._complete = True
            self._parser = None
            self._keep = (
                status != 101
                and version == "1.1"
                and not _has_token(self._headers, b"connection", b"close")
            )
        elif version == "1.1" and parser.should_keep_alive():
            self._keep = True  # no `Connection: close`, the body has a length or is chunked
        else:
            self._to_close = _to_close(self._headers)

    def on_body(self, body: bytes) -> None:
        if self._complete:  # bytes after a response to HEAD
            self._stray = True
            return
        self._parts.append(body)
        self._unread += len(body)

    def on_message_complete(self) -> None:
        if self._head_done:
            self._complete = True

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
        self._start(method, request)
        # `total`: a loop time the whole answer must have arrived by (a whole call's
        # `timeout_s`): per-read timeouts alone let a server that trickles its answer a
        # byte at a time hold the call for ever
        self._end = timeouts.get("total")
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
        while not self._head_done:
            if self._error is not None:
                raise self._error
            if self._eof:
                raise http_error(
                    "RemoteProtocolError",
                    "Server disconnected without sending a response.",
                    request=request,
                )
            await self._more(request, read_timeout)
        return Answer(
            self._status,
            self._reason,
            self._version,
            self._headers,
            Body(self, request, read_timeout),
        )

    def _start(self, method: str, request: httpx2.Request | None) -> None:
        """A new request on this connection: reset what the last answer left."""
        self._in_use = True
        self.reusable = False  # until the answer has been read to the end
        self._request = request
        self._method = method
        self._framing_bytes = self._trailer_bytes = self._status = self._unread = 0
        self._reason = b""
        self._headers = []
        self._head_done = self._complete = self._to_close = self._keep = self._stray = False
        self._error = None
        if self._parser is None:
            self._parser = httptools.HttpResponseParser(self)

    async def _drain(self, request: httpx2.Request | None, timeout: float | None) -> None:
        drained = self._drained
        if drained is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await drained
        except TimeoutError:
            raise http_error(
                "WriteTimeout", "sending the request timed out", request=request
            ) from None
        if self._eof:
            raise http_error("WriteError", str(self._lost or "connection closed"), request=request)

    async def _more(self, request: httpx2.Request | None, timeout: float | None) -> None:
        """Wait until more bytes (or the end) arrive; ReadTimeout after `timeout`."""
        if self._eof:
            return
        if self._end is not None:
            left = self._end - self._loop.time()
            if left <= 0:
                raise late(request)
            timeout = left if timeout is None else min(timeout, left)
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
            if self._end is not None and self._loop.time() >= self._end:
                raise late(request) from None  # the whole answer's time, not the read's
            raise http_error(
                "ReadTimeout", "reading the response timed out", request=request
            ) from None
        finally:
            if timer is not None:
                timer.cancel()

    async def read_body(
        self, request: httpx2.Request | None, timeout: float | None
    ) -> AsyncIterator[bytes]:
        """The body's bytes as they come: a part per piece the parser hands over (a
        chunk's data, or what one read of a length-framed body brought), never joined, so
        a stream's events reach the reader in their chunks however they were buffered."""
        while True:
            parts = self._parts
            if parts:
                self._parts = []
                self._unread = 0
                for part in parts:
                    yield part
            elif self._complete:
                return
            elif self._error is not None:
                raise self._error
            elif self._eof:
                if self._to_close:
                    self._complete = True
                    return
                raise incomplete(request)
            else:
                await self._more(request, timeout)

    def done(self, *, reusable: bool) -> None:
        """The answer was read to the end (`reusable`: keep-alive holds), or abandoned."""
        self._in_use = False
        self.reusable = reusable and self._keep and not self._eof and not self._stray
        # the exchange's objects go with it (the request holds its API key)
        self._headers = _NO_HEADERS
        self._request = None
        if self._parts:  # an abandoned body's unread bytes
            self._parts = []
            self._unread = 0
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


def plain_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a body comes as it is: no `Content-Encoding` to undo, no cookie to keep
    (an answer needing either goes through httpx2's response object)."""
    for name, value in headers:
        lower = name.lower()
        if lower == b"set-cookie":
            return False
        if lower == b"content-encoding" and value.strip().lower() != b"identity":
            return False
    return True


def http_error(name: str, message: str, request: httpx2.Request | None = None) -> Exception:
    """httpx2's transport error `name` (`ReadTimeout`, ...), httpx2 imported only now: an
    error is rare, and a run whose answers all come plain never needs the library."""
    import httpx2

    error: Exception = getattr(httpx2, name)(message, request=request)
    return error


def is_transport_error(exc: BaseException | None) -> bool:
    """Whether `exc` is an httpx2 transport error (none can exist before httpx2 is loaded)."""
    httpx2 = sys.modules.get("httpx2")
    return httpx2 is not None and isinstance(exc, httpx2.TransportError)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def whole_call_timeouts(timeout: float) -> dict[str, float]:
    """`Connection.send`'s timeouts of a whole (not streamed) call: each connect, write
    and read within `timeout`, and the whole answer too (`total`, a loop time)."""
    total = asyncio.get_running_loop().time() + timeout
    return {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout, "total": total}


# the messages of the timeouts a trickled answer meets (callers say which bound it was)
LATE = "the whole answer did not arrive within the timeout"
PAST_DEADLINE = "the answer was still arriving at the call's deadline"


def late(request: httpx2.Request | None) -> Exception:
    """httpx2's `ReadTimeout` for an answer still arriving when its whole time is up."""
    return http_error("ReadTimeout", LATE, request=request)


def incomplete(request: httpx2.Request | None) -> Exception:
    """httpx2's `RemoteProtocolError` for a body cut short."""
    return http_error(
        "RemoteProtocolError",
        "peer closed connection without sending complete message body",
        request=request,
    )


def _has_token(headers: list[tuple[bytes, bytes]], name: bytes, token: bytes) -> bool:
    return any(
        n.lower() == name and token in (t.strip().lower() for t in v.split(b","))
        for n, v in headers
    )


def _to_close(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the body ends when the server closes (RFC 9112 6.3: neither a length nor
    chunked last), as llhttp has it: httptools cannot tell it the connection's end."""
    framed = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"transfer-encoding":
            return value.split(b",")[-1].strip().lower() != b"chunked"
        framed = framed or lower == b"content-length"
    return not framed


class Body:
    """A response's body on its connection; the pool takes the connection back on close.
    (httpx2's response objects take it wrapped: `_transport.HttpxBody`.)"""

    def __init__(
        self, conn: Connection, request: httpx2.Request | None, timeout: float | None
    ) -> None:
        self.conn = conn
        self._request = request
        self._timeout = timeout
        self.complete = False
        self.on_close: Any = None  # set by the pool: called once with the connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self.conn.read_body(self._request, self._timeout):
                yield part
        except BaseException:
            self.conn.reusable = False
            raise
        self.complete = True

    async def aclose(self) -> None:
        on_close, self.on_close = self.on_close, None
        self.conn.done(reusable=self.complete)
        if on_close is not None:
            on_close(self.conn)


def answer_too_large() -> ProviderError:
    """The error of an answer over MAX_ANSWER_BYTES: a malformed answer, not retried."""
    return ProviderError(
        "bad_response",
        f"the answer is larger than {MAX_ANSWER_BYTES >> 20} MiB, more than any model "
        "answer: refused, not read to its end",
    )


def check_answer_size(size: int) -> None:
    """Refuse (`answer_too_large`) once `size` bytes of one answer pass the cap."""
    if size > MAX_ANSWER_BYTES:
        raise answer_too_large()


async def read_capped(parts: AsyncIterable[bytes], end: float | None = None) -> bytes:
    """`b"".join(parts)`, refused (`answer_too_large`) once past MAX_ANSWER_BYTES, and
    (`late`) when a part arrives after `end` (a loop time)."""
    chunks: list[bytes] = []
    size = 0
    async for part in parts:
        size += len(part)
        check_answer_size(size)
        if end is not None and asyncio.get_running_loop().time() > end:
            raise late(None)
        chunks.append(part)
    return b"".join(chunks)


def read_capped_sync(parts: Iterable[bytes], end: float | None = None) -> bytes:
    """`read_capped` for a blocking stream (`end`: a `time.monotonic()` value)."""
    chunks: list[bytes] = []
    size = 0
    for part in parts:
        size += len(part)
        check_answer_size(size)
        if end is not None and time.monotonic() > end:
            raise late(None)
        chunks.append(part)
    return b"".join(chunks)
