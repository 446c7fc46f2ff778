"""The SSE parser: line endings, chunk boundaries, multi-line data, comments, limits."""

from __future__ import annotations

import time

import pytest

from promptctl.errors import ProviderError
from promptctl.providers import sse
from promptctl.providers.sse import SSEEvent, SSEParser

STREAM = (
    b": a comment first\n"
    b"event: message_start\n"
    b'data: {"a": 1}\n'
    b"\n"
    b"data: line one\n"
    b"data:line two\n"
    b"id: 7\n"
    b"retry: 100\n"
    b"\n"
    b"event: ignored, no data\n"
    b"\n"
    b"data: caf\xc3\xa9 \xe2\x9c\x93\n"
    b"\n"
)
EXPECTED = [
    SSEEvent('{"a": 1}', "message_start"),
    SSEEvent("line one\nline two", "message", "7"),
    SSEEvent("café ✓", "message", "7"),  # the last event id carries over, as the spec says
]


def _parse_in(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    out: list[SSEEvent] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out + parser.close()


def test_whole_stream() -> None:
    assert _parse_in([STREAM]) == EXPECTED


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_split_point_and_line_ending_gives_the_same_events(ending: bytes) -> None:
    """A chunk may end anywhere: inside a UTF-8 character, between CR and LF, mid-field."""
    stream = STREAM.replace(b"\n", ending)
    for cut in range(1, len(stream)):
        assert _parse_in([stream[:cut], stream[cut:]]) == EXPECTED, cut


def test_byte_by_byte() -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    assert _parse_in([stream[i : i + 1] for i in range(len(stream))]) == EXPECTED


def test_only_one_space_after_the_colon_is_dropped() -> None:
    assert _parse_in([b"data:  two spaces\n\n"]) == [SSEEvent(" two spaces")]


def test_a_last_event_without_its_blank_line_is_dispatched_at_close() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.close() == [SSEEvent("[DONE]")]


def test_keep_alive_comments_alone_give_no_event() -> None:
    assert _parse_in([b": ping\n\n: ping\n\n"]) == []


def test_an_endless_line_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 64)
    parser = SSEParser()
    with pytest.raises(ProviderError) as info:
        parser.feed(b"data: " + b"x" * 100)
    assert info.value.kind == "bad_response"
    with pytest.raises(ProviderError):  # many short data lines of one event, too
        SSEParser().feed(b"data: " + b"y" * 40 + b"\n" + b"data: " + b"y" * 40 + b"\n")


def test_an_endless_stream_of_good_events_is_refused_at_the_stream_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each event small, the stream without end: it filled memory until the call's
    deadline before (the events' text is kept for the answer)."""
    monkeypatch.setattr(sse, "MAX_STREAM_BYTES", 10_000)
    parser = SSEParser()
    event = b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'
    events = 0
    with pytest.raises(ProviderError) as info:
        for _ in range(10_000):
            events += len(parser.feed(event))
    assert info.value.kind == "bad_response" and "stream is larger than" in info.value.message
    assert 10_000 // len(event) - 1 <= events <= 10_000 // len(event)


def test_a_long_line_in_small_chunks_costs_linear_time() -> None:
    """A server dribbling one 1 MB line 64 bytes at a time (under the size cap): the
    parser once re-joined the whole pending line on every chunk, 8 GB of copying here
    (~15 s), so a hostile server could pin a core without ever tripping a timeout."""
    parser = SSEParser()
    start = time.process_time()
    parser.feed(b"data: ")
    piece = b"z" * 64
    for _ in range(1024 * 1024 // 64):
        assert parser.feed(piece) == []
    events = parser.feed(b"\n\n")
    assert time.process_time() - start < 3.0  # linear: a few ms; quadratic: seconds
    assert events == [SSEEvent("z" * 1024 * 1024)]


def test_a_cr_at_a_chunk_end_still_ends_the_line_when_no_newline_follows() -> None:
    # "\r" ends a line; the next chunk carries no line ending at all
    assert _parse_in([b"data: a\r", b"\r", b"data: b", b"\r\r"]) == [
        SSEEvent("a"),
        SSEEvent("b"),
    ]
