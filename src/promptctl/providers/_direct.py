"""The providers' async client: a provider call sent without importing httpx2.

Importing httpx2 costs ~30 ms of CPU (its models, cookies, multipart, IDNA, the
`importlib.metadata` lookup of its version), a fifth of a one-case `promptctl test`.
A provider call needs none of it when the URL is plain and the answer comes as it is:
`DirectClient.post_bytes` writes the very head httpx2 would (same headers, in the same
order, checked by tests against httpx2's own `build_request`) on `_pool`'s connections,
and reads the answer's headers with `Headers`. Everything else goes through httpx2's
client over the same pool, imported on first need: a URL this module does not take as it
is (non-ASCII, IPv6, dot segments, a character httpx2 would escape), headers that are not
ASCII or that set `Host` or the body's framing, a compressed answer, a cookie, a stream
(`build_request` / `send`). Errors are httpx2's either way (`_http11.http_error`).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from promptctl import __version__
from promptctl.providers._http11 import encode_head, plain_body, read_capped, whole_call_timeouts
from promptctl.providers._pool import ConnectionPool, Origin, Reply

if TYPE_CHECKING:
    import httpx2

    from promptctl.providers._transport import PooledClient

__all__ = ["CLIENT_HEADERS", "DirectClient", "Headers", "direct_route"]

# Every client of the providers sends these (httpx2's defaults, with promptctl's name in
# `User-Agent` and the encodings every client decodes without an optional package).
CLIENT_HEADERS = {"User-Agent": f"promptctl/{__version__}", "Accept-Encoding": "gzip, deflate"}
# httpx2's client headers once CLIENT_HEADERS are applied (its `update` moves an
# overridden header to the end), as bytes
_DEFAULTS: list[tuple[bytes, bytes]] = [
    (b"Accept", b"*/*"),
    (b"Connection", b"keep-alive"),
    *((k.encode("ascii"), v.encode("ascii")) for k, v in CLIENT_HEADERS.items()),
]
_FRAMING = frozenset({"host", "content-length", "transfer-encoding"})
# an http(s) URL httpx2 sends as it is written: lower-case scheme and host (names and
# IPv4), a port, a path and query of characters it leaves unescaped, no fragment
_URL = re.compile(r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?(/[^?#]*)?(?:\?([^#]*))?")
_KEPT = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*"
_PATH = re.compile(_KEPT)
_QUERY = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


def direct_route(
    url: str,
    headers: Mapping[str, str],
    routes: dict[tuple[object, ...], tuple[Origin, bytes]],
    heads: dict[tuple[Any, ...], bytes],
) -> tuple[Origin, bytes] | None:
    """The origin and the encoded head (without its `Content-Length`) httpx2's client
    would send a POST of `url` with `headers` with, kept in `routes`; None when this
    module does not build it (the caller goes through httpx2)."""
    key: tuple[object, ...] = (url, *headers.items())
    found = routes.get(key)
    if found is not None:
        return found
    parsed = _URL.fullmatch(url)
    if parsed is None:
        return None
    scheme, host, port_text, path, query = parsed.groups()
    path = path or "/"
    if not _PATH.fullmatch(path) or _DOT_SEGMENT.search(path):
        return None
    if query is not None and not _QUERY.fullmatch(query):
        return None
    default = 443 if scheme == "https" else 80
    port = int(port_text) if port_text is not None else default
    if not 0 < port < 65536 or host.startswith(".") or ".." in host:
        return None
    names = [name.lower() for name in headers]
    if any(n in _FRAMING for n in names) or not all(
        name.isascii() and value.isascii() for name, value in headers.items()
    ):
        return None
    netloc = host if port == default else f"{host}:{port}"
    raw = [(b"Host", netloc.encode("ascii"))]
    raw += [(n, v) for n, v in _DEFAULTS if n.decode("ascii").lower() not in names]
    raw += [(n.encode("ascii"), v.encode("ascii")) for n, v in headers.items()]
    target = path if query is None else f"{path}?{query}"
    origin: Origin = (scheme.encode("ascii"), host.encode("ascii"), port)
    found = (origin, encode_head("POST", target.encode("ascii"), raw, heads))
    if len(routes) >= 256:
        routes.clear()
    routes[key] = found
    return found


class Headers(Mapping[str, str]):
    """A response's headers read as httpx2 reads them: names case-insensitive, repeated
    ones joined with ", ", bytes decoded as ASCII, else UTF-8, else Latin-1."""

    __slots__ = ("_index", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        self._index: dict[str, str] | None = None

    def _values(self) -> dict[str, str]:
        index = self._index
        if index is None:
            encoding = _encoding(self.raw)
            index = {}
            for name, value in self.raw:
                key, text = name.decode(encoding).lower(), value.decode(encoding)
                index[key] = f"{index[key]}, {text}" if key in index else text
            self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        return self._values()[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return f"Headers({list(self._values().items())!r})"


def _encoding(raw: list[tuple[bytes, bytes]]) -> str:
    for encoding in ("ascii", "utf-8"):
        try:
            for name, value in raw:
                name.decode(encoding)
                value.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


class DirectClient:
    """The async client `_http.new_client` makes when no proxy is configured:
    `post_bytes` (every provider call) without httpx2 where it can; `build_request` and
    `send` (streams) through httpx2's client over the same connections."""

    def __init__(
        self,
        max_connections: int,
        *,
        timeout: float = 60.0,
        ssl_context: Callable[[], ssl.SSLContext],
    ) -> None:
        self.pool = ConnectionPool(max_connections, ssl_context=ssl_context)
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._httpx: PooledClient | None = None
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    def httpx(self) -> PooledClient:
        """httpx2's client over this client's pool (httpx2 imported now)."""
        if self._httpx is None:
            from promptctl.providers._transport import PooledClient

            self._httpx = PooledClient(
                self.pool.max_connections,
                timeout=self._timeout,
                ssl_context=self._ssl_context,
                pool=self.pool,
                headers=CLIENT_HEADERS,
            )
        return self._httpx

    def build_request(self, *args: Any, **kwargs: Any) -> httpx2.Request:
        return self.httpx().build_request(*args, **kwargs)

    async def send(self, *args: Any, **kwargs: Any) -> httpx2.Response:
        return await self.httpx().send(*args, **kwargs)

    async def post_bytes(
        self, url: str, *, headers: Mapping[str, str], content: bytes, timeout: float
    ) -> Reply:
        """`post(url, headers=..., content=..., timeout=...)` read to the end: the bytes
        httpx2's client would send, its `Reply` (status, headers, body)."""
        client = self._httpx
        if client is not None and client.cookies:  # a server set one: httpx2 sends it back
            return await client.post_bytes(url, headers=headers, content=content, timeout=timeout)
        found = direct_route(url, headers, self.pool.routes, self.pool.heads)
        if found is None:
            return await self.httpx().post_bytes(
                url, headers=headers, content=content, timeout=timeout
            )
        origin, head = found
        head += b"Content-Length: " + str(len(content)).encode() + b"\r\n"
        timeouts = whole_call_timeouts(timeout)
        answer = await self.pool.request(origin, head, "POST", content, timeouts, None, False)
        if not plain_body(answer.headers):
            from promptctl.providers._transport import decoded_reply

            return await decoded_reply(self.httpx(), answer, url, headers, content)
        try:
            received = await read_capped(answer.body)
        finally:
            await answer.body.aclose()
        return Reply(answer.status, Headers(answer.headers), received)

    async def aclose(self) -> None:
        self._closed = True
        if self._httpx is not None:
            await self._httpx.aclose()
        await self.pool.aclose()

    async def __aenter__(self) -> DirectClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
