"""The HTTP client library, chosen by bench/overhead.py (see docs/performance.md).

httpx2 (same API as httpx) spends ~0.5 ms of client CPU per request with one pool of 50
connections where httpx 0.28 spends ~7 ms (1,000 requests at 50 ms latency: 1.2 s vs
7.2 s wall), so one shared pool per Gateway is viable only with httpx2. The async client
runs over `_pool.ConnectionPool` (O(1) pool, plain asyncio sockets, no SSL context until
an https origin is used): ~0.3 ms per request instead of ~0.5 ms; a provider call on it
does not import httpx2 at all unless it needs it (`_direct.DirectClient`).
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
from collections.abc import Mapping
from typing import Any

# and, through __getattr__ (imported on demand): TimeoutError_, TransportError
__all__ = ["new_client", "new_sync_client", "ssl_context"]


def __getattr__(name: str) -> Any:
    """`TimeoutError_` and `TransportError`, httpx2's, imported when first asked for
    (an `except` clause asks only when something was raised)."""
    if name in ("TimeoutError_", "TransportError"):
        import httpx2

        return httpx2.TimeoutException if name == "TimeoutError_" else httpx2.TransportError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_client(max_connections: int = 100) -> Any:
    """One pooled async client (`max_connections` per origin); per-request timeouts are
    passed on each call.

    With a proxy in the environment (HTTPS_PROXY, ALL_PROXY, ...) it is httpx2's own
    transport, which routes through it; `PooledTransport` connects directly only.
    """
    from promptctl.providers._direct import CLIENT_HEADERS, DirectClient

    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if _env_proxies():
        import httpx2

        return httpx2.AsyncClient(
            limits=httpx2.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx2.Timeout(60.0),
            verify=_ssl_context(cert_file, cert_dir),
            headers=CLIENT_HEADERS,
        )
    return DirectClient(
        max_connections, timeout=60.0, ssl_context=lambda: _ssl_context(cert_file, cert_dir)
    )


def _env_proxies() -> bool:
    """Whether the environment names a proxy for http(s) (what httpx2 would honour)."""
    if sys.platform in ("darwin", "win32"):  # urllib reads the system's settings there too
        import urllib.request

        proxies = urllib.request.getproxies()
    else:
        proxies = environment_proxies(os.environ)
    return any(k in proxies for k in ("http", "https", "all"))


def environment_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """`urllib.request.getproxies_environment()` (what `getproxies()` is on Linux), read
    from `environ` without importing `urllib.request` (and with it `email` and
    `http.client`, ~5 ms): `<scheme>_proxy` in any case, the lower-case name winning
    and an empty one removing it; a CGI request (`REQUEST_METHOD`) drops `HTTP_PROXY`."""
    proxies = {}
    for name, value in environ.items():
        lower = name.lower()
        if value and lower[-6:] == "_proxy":
            proxies[lower[:-6]] = value
    if "REQUEST_METHOD" in environ:
        proxies.pop("http", None)
    for name, value in environ.items():
        if name[-6:] == "_proxy":
            if value:
                proxies[name.lower()[:-6]] = value
            else:
                proxies.pop(name.lower()[:-6], None)
    return proxies


def new_sync_client(max_connections: int = 100) -> Any:
    """One pooled blocking client (thread-safe) for `Gateway.complete_sync`.

    Over `SyncPooledTransport` (O(1) pool, one send per request, SSL context only for
    https); with a proxy in the environment, httpx2's own transport, as `new_client`.
    """
    import httpx2

    from promptctl.providers._direct import CLIENT_HEADERS

    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if _env_proxies():
        return httpx2.Client(
            limits=httpx2.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx2.Timeout(60.0),
            verify=_ssl_context(cert_file, cert_dir),
            headers=CLIENT_HEADERS,
        )
    from promptctl.providers._sync_transport import SyncPooledClient, SyncPooledTransport

    transport = SyncPooledTransport(
        max_connections, ssl_context=lambda: _ssl_context(cert_file, cert_dir)
    )
    return SyncPooledClient(transport, timeout=60.0, headers=CLIENT_HEADERS)


def ssl_context() -> ssl.SSLContext:
    """The process's SSL context for the environment's CA setting (`SSL_CERT_FILE`,
    `SSL_CERT_DIR`), shared by every client that verifies certificates."""
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx2's default context, built once per process and CA setting: loading the CA
    bundle costs ~20 ms of CPU, and every Gateway makes its own clients (an async one per
    event loop: `asyncio.run` per call makes one each time)."""
    import httpx2

    return httpx2.create_ssl_context()
