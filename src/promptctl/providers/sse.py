"""Server-sent events: the one incremental parser every streaming wire format uses.

Follows the WHATWG "event stream" rules that matter for LLM APIs: lines end in CRLF, LF
or CR (a CR at the end of one network chunk may pair with an LF at the start of the
next); `data:` lines of one event are joined with LF; a blank line dispatches; lines
starting with `:` are comments (keep-alives); one space after the colon is dropped;
`event:` names the event, `id:` and `retry:` are kept or ignored. An event with no
`data:` line is not dispatched. At the end of the stream a last event missing its blank
line is still dispatched (the spec drops it; servers that forget it exist, and the
decoder above decides whether the stream was complete). Bytes are decoded as UTF-8
incrementally, so a character split across chunks survives.

Why a parser of our own: it is forty lines, the vendors' SDKs are out (DESIGN.md: httpx
only), and it is on the per-chunk hot path (bench/runtime.py measures it).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from promptctl.errors import ProviderError

__all__ = ["MAX_EVENT_BYTES", "MAX_STREAM_BYTES", "SSEEvent", "SSEParser"]

# A line (or one event's data) longer than this is not an LLM event but a server gone
# wrong or hostile: refused instead of buffered without end.
MAX_EVENT_BYTES = 8 * 1024 * 1024
# A whole stream larger than this is refused too, as a whole answer is (MAX_ANSWER_BYTES
# of the HTTP layer): a 100,000-token answer streams ~20 MB of events; a server that
# streams without end would otherwise fill memory until the call's deadline.
MAX_STREAM_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event; `event` is "message" when the server named none."""

    data: str
    event: str = "message"
    id: str = ""


class SSEParser:
    """Feed it network chunks as they come; it returns the events they complete."""

    __slots__ = (
        "_data",
        "_decoder",
        "_event",
        "_id",
        "_pending",
        "_pending_len",
        "_received",
        "_size",
    )

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        # the start of a line whose end has not arrived, in pieces: re-joining it on every
        # chunk made a long line in small chunks quadratic (a hostile server's CPU bomb)
        self._pending: list[str] = []
        self._pending_len = 0
        self._data: list[str] = []
        self._event = ""
        self._id = ""
        self._size = 0
        self._received = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._received += len(chunk)
        if self._received > MAX_STREAM_BYTES:
            raise ProviderError(
                "bad_response",
                f"the stream is larger than {MAX_STREAM_BYTES >> 20} MiB, more than any "
                "model answer: refused, not read to its end",
            )
        text = self._decoder.decode(chunk)
        pending = self._pending
        if pending:
            if "\n" not in text and "\r" not in text and not pending[-1].endswith("\r"):
                pending.append(text)
                self._pending_len += len(text)
                if self._pending_len > MAX_EVENT_BYTES:
                    raise _too_long()
                return []
            text = "".join(pending) + text
        if "\r" in text:
            # keep a trailing CR: its LF may be the next chunk's first byte
            tail = "\r" if text.endswith("\r") else ""
            text = text[: len(text) - len(tail)].replace("\r\n", "\n").replace("\r", "\n") + tail
        lines = text.split("\n")
        last = lines.pop()
        if last:
            if len(last) > MAX_EVENT_BYTES:
                raise _too_long()
            self._pending, self._pending_len = [last], len(last)
        elif pending:
            self._pending, self._pending_len = [], 0
        return self._lines(lines)

    def close(self) -> list[SSEEvent]:
        """The end of the stream: its unterminated last line and event, if any."""
        tail = ("".join(self._pending) + self._decoder.decode(b"", final=True)).rstrip("\r")
        self._pending, self._pending_len = [], 0
        return self._lines([tail, ""] if tail else [""])

    def _lines(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    data = "\n".join(self._data)
                    events.append(SSEEvent(data, self._event or "message", self._id))
                self._data, self._event, self._size = [], "", 0
                continue
            name, colon, value = line.partition(":")
            if not name:
                continue  # a comment: keep-alive
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "data":
                self._size += len(value)
                if self._size > MAX_EVENT_BYTES:
                    raise _too_long()
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id" and "\0" not in value:
                self._id = value
        return events


def _too_long() -> ProviderError:
    return ProviderError("bad_response", f"event stream line or event over {MAX_EVENT_BYTES} bytes")
