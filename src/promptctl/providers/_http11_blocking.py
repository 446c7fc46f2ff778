"""HTTP/1.1 on a blocking socket: the blocking client's provider calls (`post_bytes`).

`_http11.Connection` is the answer's parser state (llhttp through `httptools`, keep-alive,
the head's size limit, read-to-close bodies) fed with bytes as they arrive; an asyncio
transport feeds it there. Here a thread feeds the same object from a blocking socket:
the request goes out in one `sendall`, `recv` until the answer is whole. Without it a
blocking call went through httpx2's request and response objects and httpcore2's h11
machine: ~0.27 ms of CPU per call against ~0.03 ms for the exchange itself
(docs/performance.md). Errors are httpx2's own, as from its transports; timeouts apply
to each connect, send and read, as httpx2's do, and the whole answer is due within the
timeout too (a server trickling it is cut there, where per-read timeouts never fire).
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from typing import Any, cast

import httpx2

from promptctl.providers._http11 import (
    Connection,
    check_answer_size,
    incomplete,
    late,
)

__all__ = ["BlockingConnection", "connect"]

_READ = 65536


def connect(
    host: str, port: int, context: ssl.SSLContext | None, timeout: float | None
) -> BlockingConnection:
    """A new connection (TLS when `context` is given), TCP_NODELAY as httpcore2's."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise httpx2.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
    except OSError as exc:
        raise httpx2.ConnectError(str(exc) or type(exc).__name__) from exc
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=host)
    except TimeoutError:
        sock.close()
        raise httpx2.ConnectTimeout(f"TLS with {host}:{port} timed out") from None
    except OSError as exc:  # ssl.SSLError included
        sock.close()
        raise httpx2.ConnectError(str(exc) or type(exc).__name__) from exc
    return BlockingConnection(sock)


class BlockingConnection(Connection):
    """One keep-alive connection driven by the calling thread, one exchange at a time."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(cast(Any, None))  # no event loop: nothing here waits on one
        self._sock = sock

    def exchange(
        self, head: bytes, body: bytes, timeout: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """POST: write `head` (request line and headers, encoded) and `body`, read the
        answer to its end: (status, headers as they came, body). On any error the
        connection is closed (its state is unknown) and httpx2's error raised."""
        self._start("POST", None)
        try:
            return self._exchange(head, body, timeout)
        except BaseException:
            self.done(reusable=False)
            raise

    def _exchange(
        self, head: bytes, body: bytes, timeout: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        sock = self._sock
        # the whole answer is due within `timeout`: a server trickling it a byte at a
        # time past every read's timeout is cut there
        end = None if timeout is None else time.monotonic() + timeout
        try:
            sock.settimeout(timeout)
            sock.sendall(head + b"\r\n" + body)
        except TimeoutError:
            raise httpx2.WriteTimeout("sending the request timed out") from None
        except OSError as exc:
            raise httpx2.WriteError(str(exc) or type(exc).__name__) from exc
        while not self._complete:
            if self._error is not None:
                raise self._error
            if self._eof:
                if not self._head_done:
                    raise httpx2.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    )
                if not self._to_close:
                    raise incomplete(None)
                self._complete = True  # a body read to the close
                break
            try:
                if end is not None:
                    left = end - time.monotonic()
                    if left <= 0:
                        raise late(None)
                    sock.settimeout(left)
                data = sock.recv(_READ)
            except TimeoutError:
                if end is not None and time.monotonic() >= end:
                    raise late(None) from None  # the whole answer's time, not the read's
                raise httpx2.ReadTimeout("reading the response timed out") from None
            except OSError as exc:
                raise httpx2.ReadError(str(exc) or type(exc).__name__) from exc
            if data:
                self.data_received(data)
                check_answer_size(self._unread)  # read whole: refused before its end
            else:
                self.eof_received()
        if self._error is not None:
            raise self._error
        status, headers, parts = self._status, self._headers, self._parts
        self._parts = []
        self._unread = 0
        self.done(reusable=True)
        return status, headers, b"".join(parts)

    def is_available(self) -> bool:
        """Idle, and nothing (an end, stray bytes) arrived since: the keep-alive race is
        lost only when the server closes between this check and the request."""
        if not super().is_available():
            return False
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.reusable = False
        self._sock.close()
