"""providers/_http11: the HTTP/1.1 framing under PooledTransport, against a raw local server
that answers with exactly the bytes each test gives (the cases a fake server never sends)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest

from promptctl.providers._transport import PooledTransport

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


def _sends(*parts: bytes, close: bool = False) -> Answer:
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        for part in parts:
            writer.write(part)
            await writer.drain()
        if close:
            writer.close()

    return answer


async def _serve(answers: list[Answer], seen: list[tuple[Any, bytes]]) -> tuple[Any, str]:
    """A server answering request n with `answers[n]`; `seen` gets (peer, request bytes)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                seen.append((peer, request))
                await answers.pop(0)(request, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/x"


def _run(answers: list[Answer], calls: Callable[[httpx2.AsyncClient, str], Awaitable[Any]]) -> Any:
    seen: list[tuple[Any, bytes]] = []

    async def main() -> Any:
        server, url = await _serve(answers, seen)
        async with server, httpx2.AsyncClient(transport=PooledTransport(4), timeout=2.0) as c:
            return await calls(c, url), seen

    return asyncio.run(main())


def test_chunked_body_with_extensions_and_trailers_then_keep_alive() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: 1\r\n\r\n"
    )
    plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def calls(client: httpx2.AsyncClient, url: str) -> list[bytes]:
        return [(await client.post(url, content=b"{}")).content for _ in range(2)]

    bodies, seen = _run([_sends(chunked), _sends(plain)], calls)
    assert bodies == [b"hello world", b"ok"]
    assert seen[0][0] == seen[1][0]  # the chunked answer was read to its end: reused


def test_interim_100_continue_is_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nyes"

    async def calls(client: httpx2.AsyncClient, url: str) -> tuple[int, bytes]:
        r = await client.post(url, content=b"{}")
        return r.status_code, r.content

    assert _run([_sends(answer)], calls)[0] == (201, b"yes")


def test_a_body_without_length_is_read_to_the_close_and_the_next_call_reconnects() -> None:
    first = _sends(b"HTTP/1.1 200 OK\r\n\r\npart one, ", b"part two", close=True)
    second = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def calls(client: httpx2.AsyncClient, url: str) -> list[bytes]:
        return [(await client.post(url, content=b"{}")).content for _ in range(2)]

    bodies, seen = _run([first, second], calls)
    assert bodies == [b"part one, part two", b"ok"]
    assert seen[0][0] != seen[1][0]


def test_the_request_is_one_head_with_its_length_and_httpx2s_headers() -> None:
    async def calls(client: httpx2.AsyncClient, url: str) -> int:
        r = await client.post(url, content=b'{"a":1}', headers={"authorization": "Bearer k"})
        return r.status_code

    code, seen = _run([_sends(b"HTTP/1.1 204 No Content\r\n\r\n")], calls)
    assert code == 204
    head, _, body = seen[0][1].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/x HTTP/1.1"
    fields = dict(line.split(b": ", 1) for line in lines[1:])
    assert fields[b"authorization"] == b"Bearer k"
    assert fields[b"Content-Length"] == b"7"
    assert fields[b"Host"].startswith(b"127.0.0.1:")
    assert b"User-Agent" in fields and b"Accept-Encoding" in fields
    assert body == b'{"a":1}'


@pytest.mark.parametrize("value", ["k\r\nx-injected: 1", "k\nx", "k\x00"])
def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent(value: str) -> None:
    async def calls(client: httpx2.AsyncClient, url: str) -> str:
        with pytest.raises(httpx2.LocalProtocolError):
            await client.post(url, content=b"{}", headers={"authorization": value})
        return "refused"

    result, seen = _run([_sends(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")], calls)
    assert result == "refused" and seen == []


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n",
        b"SMTP 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/2.0 200 OK\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\ncontent-length: -2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-a: 1\r\nx-" + b"b" * 70_000,
    ],
)
def test_malformed_answers_are_remote_protocol_errors(answer: bytes) -> None:
    async def calls(client: httpx2.AsyncClient, url: str) -> str:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.post(url, content=b"{}")
        return "refused"

    assert _run([_sends(answer, close=True)], calls)[0] == "refused"


def test_a_head_too_large_is_refused_while_it_still_arrives() -> None:
    """The head limit holds before the head is complete: the server never ends it."""
    huge = _sends(b"HTTP/1.1 200 OK\r\n", *[b"x-h: " + b"v" * 1000 + b"\r\n"] * 100)

    async def calls(client: httpx2.AsyncClient, url: str) -> str:
        with pytest.raises(httpx2.RemoteProtocolError, match="head too large"):
            await client.post(url, content=b"{}")
        return "refused"

    assert _run([huge], calls)[0] == "refused"


def test_the_head_arriving_byte_by_byte_and_a_chunked_body_split_anywhere() -> None:
    answer = (
        b"HTTP/1.1 200 Fine\r\ntransfer-encoding: chunked\r\nx-a:  1 \t\r\n\r\n"
        b"3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n"
    )
    split = _sends(*[answer[i : i + 1] for i in range(len(answer))])
    plain = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def calls(client: httpx2.AsyncClient, url: str) -> list[Any]:
        first = await client.post(url, content=b"{}")
        second = await client.post(url, content=b"{}")
        return [first.reason_phrase, first.headers["x-a"], first.content, second.content]

    result, seen = _run([split, plain], calls)
    assert result == ["Fine", "1", b"abcdefg", b"ok"]
    assert seen[0][0] == seen[1][0]


def test_a_response_to_head_has_no_body_and_the_connection_is_reused() -> None:
    """A HEAD answer's `content-length` is the GET's: no body follows it."""
    head = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
    plain = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def calls(client: httpx2.AsyncClient, url: str) -> list[Any]:
        first = await client.head(url)
        second = await client.post(url, content=b"{}")
        return [first.headers["content-length"], first.content, second.content]

    result, seen = _run([head, plain], calls)
    assert result == ["5", b"", b"ok"]
    assert seen[0][0] == seen[1][0]


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",  # a 2nd answer
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok\r\nx",  # bytes after the body
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ],
)
def test_an_answer_leaving_the_connection_unusable_is_read_and_the_next_call_reconnects(
    answer: bytes,
) -> None:
    plain = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def calls(client: httpx2.AsyncClient, url: str) -> list[bytes]:
        return [(await client.post(url, content=b"{}")).content for _ in range(2)]

    bodies, seen = _run([_sends(answer), plain], calls)
    assert bodies == [b"ok", b"ok"]
    assert seen[0][0] != seen[1][0]


def test_no_content_and_not_modified_have_no_body_and_keep_the_connection() -> None:
    answers = [
        _sends(b"HTTP/1.1 204 No Content\r\n\r\n"),
        _sends(b"HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n"),
        _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    ]

    async def calls(client: httpx2.AsyncClient, url: str) -> list[tuple[int, bytes]]:
        return [
            ((r := await client.post(url, content=b"{}")).status_code, r.content) for _ in range(3)
        ]

    result, seen = _run(answers, calls)
    assert result == [(204, b""), (304, b""), (200, b"ok")]
    assert len({peer for peer, _ in seen}) == 1


def test_a_large_body_pauses_reading_until_it_is_read_and_arrives_whole() -> None:
    """Backpressure: the socket is not read while more than the high-water mark waits."""
    body = bytes(range(256)) * 8192  # 2 MiB
    big = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body), body)

    async def calls(client: httpx2.AsyncClient, url: str) -> list[Any]:
        async with client.stream("POST", url, content=b"{}") as response:
            transport = response.extensions["network_stream"]._transport
            await asyncio.sleep(0.3)  # the server has sent all it could
            paused = not transport.is_reading()
            got = b"".join([part async for part in response.aiter_bytes()])
        return [paused, got == body]

    assert _run([big], calls)[0] == [True, True]


def test_a_body_cut_short_is_an_error_not_a_short_answer() -> None:
    cut = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", close=True)

    async def calls(client: httpx2.AsyncClient, url: str) -> str:
        with pytest.raises(httpx2.RemoteProtocolError, match="complete message body"):
            await client.post(url, content=b"{}")
        return "refused"

    assert _run([cut], calls)[0] == "refused"


def test_a_streamed_body_is_handed_over_as_it_arrives() -> None:
    """SSE: the first event reaches the reader while the server still holds the rest."""
    release = asyncio.Event()

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"9\r\ndata: one\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"9\r\ndata: two\r\n0\r\n\r\n")
        await writer.drain()

    async def calls(client: httpx2.AsyncClient, url: str) -> list[bytes]:
        parts = []
        async with client.stream("POST", url, content=b"{}") as response:
            async for part in response.aiter_bytes():
                parts.append(part)
                release.set()  # only now does the server send the second event
        return parts

    assert _run([answer], calls)[0] == [b"data: one", b"data: two"]


def test_chunks_that_arrived_together_are_handed_over_one_by_one() -> None:
    """A stream's events keep their chunks however the socket buffered them: a reader
    gets the events before a broken one as parts of their own (tests/providers/
    test_streaming.py relies on it to report the partial text)."""
    answer = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"9\r\ndata: one\r\n9\r\ndata: two\r\n6\r\nbroken\r\n0\r\n\r\n"
    )

    async def calls(client: httpx2.AsyncClient, url: str) -> list[bytes]:
        async with client.stream("POST", url, content=b"{}") as response:
            return [part async for part in response.aiter_raw()]

    assert _run([_sends(answer)], calls)[0] == [b"data: one", b"data: two", b"broken"]


def test_gzip_answers_are_decoded_by_httpx2() -> None:
    packed = gzip.compress(b'{"ok":true}')
    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: "
        + str(len(packed)).encode()
        + b"\r\n\r\n"
        + packed
    )

    async def calls(client: httpx2.AsyncClient, url: str) -> Any:
        return (await client.post(url, content=b"{}")).json()

    assert _run([_sends(answer)], calls)[0] == {"ok": True}


def test_a_read_timeout_mid_body_is_httpx2s_and_the_connection_is_not_reused() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        await writer.drain()
        await asyncio.sleep(0.5)

    ok = _sends(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def calls(client: httpx2.AsyncClient, url: str) -> bytes:
        with pytest.raises(httpx2.ReadTimeout):
            await client.post(url, content=b"{}", timeout=0.2)
        return (await client.post(url, content=b"{}")).content

    body, seen = _run([slow, ok], calls)
    assert body == b"ok"
    assert seen[0][0] != seen[1][0]


def _pooled_run(answers: list[Answer], calls: Callable[[Any, str], Awaitable[Any]]) -> Any:
    from promptctl.providers._transport import PooledClient

    seen: list[tuple[Any, bytes]] = []

    async def main() -> Any:
        server, url = await _serve(answers, seen)
        async with server, PooledClient(4) as client:
            return await calls(client, url), seen

    return asyncio.run(main())


def test_post_bytes_sends_the_bytes_client_post_sends() -> None:
    """The provider call's short path: same head, headers and body as httpx2's own."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-litellm-response-cost: 0.5\r\n\r\nok"
    headers = {"authorization": "Bearer k", "content-type": "application/json"}

    async def calls(client: Any, url: str) -> list[Any]:
        fast = await client.post_bytes(url, headers=headers, content=b'{"a":1}', timeout=2.0)
        slow = await client.post(url, headers=headers, content=b'{"a":1}', timeout=2.0)
        return [fast, slow]

    (fast, slow), seen = _pooled_run([_sends(ok), _sends(ok)], calls)
    assert seen[0][1] == seen[1][1]
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content) == (200, b"ok")
    assert fast.headers["X-LiteLLM-Response-Cost"] == "0.5"  # case-insensitive, as httpx2's


def _direct_run(answers: list[Answer], calls: Callable[[Any, str], Awaitable[Any]]) -> Any:
    """`_pooled_run` with the providers' own client (`_direct.DirectClient`)."""
    from promptctl.providers._direct import DirectClient

    seen: list[tuple[Any, bytes]] = []

    async def main() -> Any:
        server, url = await _serve(answers, seen)
        async with server, DirectClient(4, ssl_context=httpx2.create_ssl_context) as client:
            return await calls(client, url), seen

    return asyncio.run(main())


@pytest.mark.parametrize("run", [_pooled_run, _direct_run], ids=["httpx2 client", "direct"])
def test_post_bytes_keeps_cookies_and_decodes_gzip_as_httpx2_does(run: Any) -> None:
    packed = gzip.compress(b"zipped")
    first = (
        b"HTTP/1.1 200 OK\r\nset-cookie: session=abc; Path=/\r\ncontent-encoding: gzip\r\n"
        b"content-length: " + str(len(packed)).encode() + b"\r\n\r\n" + packed
    )
    second = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def calls(client: Any, url: str) -> list[bytes]:
        return [
            (await client.post_bytes(url, headers={}, content=b"{}", timeout=2.0)).content
            for _ in range(2)
        ]

    bodies, seen = run([_sends(first), _sends(second)], calls)
    assert bodies == [b"zipped", b"ok"]
    assert b"session=abc" not in seen[0][1]
    assert b"\r\nCookie: session=abc\r\n" in seen[1][1]
    assert seen[0][0] == seen[1][0]  # one connection, whichever path each call took


def test_a_chunked_bodys_trailers_are_not_headers_of_the_answer() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-head: 1\r\n\r\n"
        b"2\r\nok\r\n0\r\nx-trailer: 2\r\n\r\n"
    )

    async def calls(client: Any, url: str) -> list[Any]:
        fast = await client.post_bytes(url, headers={}, content=b"{}", timeout=2.0)
        slow = await client.post(url, content=b"{}", timeout=2.0)
        return [
            (r.content, r.headers.get("x-head"), "x-trailer" in r.headers) for r in (fast, slow)
        ]

    result, _ = _pooled_run([_sends(chunked), _sends(chunked)], calls)
    assert result == [(b"ok", "1", False)] * 2


@pytest.mark.parametrize("writes", ["one line a write", "all in one write"])
def test_endless_trailers_are_refused_not_buffered(writes: str) -> None:
    """Counted as they are parsed: when the last chunk and 100 KB of trailers arrive in
    one read (a loaded machine coalesces the writes), the read's body part used to reset
    the count, and the flood passed."""
    start = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
    trailers = [b"x-t: " + b"v" * 1000 + b"\r\n"] * 100
    if writes == "one line a write":
        flood = _sends(start, *trailers)
    else:
        flood = _sends(start + b"".join(trailers))

    async def calls(client: httpx2.AsyncClient, url: str) -> str:
        with pytest.raises(httpx2.RemoteProtocolError, match="trailers too large"):
            await client.post(url, content=b"{}")
        return "refused"

    assert _run([flood], calls)[0] == "refused"
