"""The HTTP client library, chosen by bench/overhead.py (see docs/performance.md).

httpx2 (same API as httpx) spends ~0.5 ms of client CPU per request with one pool of 50
connections where httpx 0.28 spends ~7 ms (1,000 requests at 50 ms latency: 1.2 s vs
7.2 s wall), so one shared pool per Gateway is viable only with httpx2. The async client
runs over `PooledTransport` (O(1) pool, plain asyncio sockets, no SSL context until an
https origin is used): ~0.3 ms per request instead of ~0.5 ms.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any

import httpx2

__all__ = ["TimeoutError_", "TransportError", "new_client", "new_sync_client", "ssl_context"]

TimeoutError_ = httpx2.TimeoutException
TransportError = httpx2.TransportError


def new_client(max_connections: int = 100) -> Any:
    """One pooled async client (`max_connections` per origin); per-request timeouts are
    passed on each call.

    With a proxy in the environment (HTTPS_PROXY, ALL_PROXY, ...) it is httpx2's own
    transport, which routes through it; `PooledTransport` connects directly only.
    """
    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if _env_proxies():
        return httpx2.AsyncClient(
            limits=httpx2.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx2.Timeout(60.0),
            verify=_ssl_context(cert_file, cert_dir),
        )
    from promptctl.providers._transport import PooledClient

    return PooledClient(
        max_connections, timeout=60.0, ssl_context=lambda: _ssl_context(cert_file, cert_dir)
    )


def _env_proxies() -> bool:
    """Whether the environment names a proxy for http(s) (what httpx2 would honour)."""
    import urllib.request

    proxies = urllib.request.getproxies()
    return any(k in proxies for k in ("http", "https", "all"))


def new_sync_client(max_connections: int = 100) -> Any:
    """One pooled blocking client (thread-safe) for `Gateway.complete_sync`.

    Over `SyncPooledTransport` (O(1) pool, one send per request, SSL context only for
    https); with a proxy in the environment, httpx2's own transport, as `new_client`.
    """
    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if _env_proxies():
        return httpx2.Client(
            limits=httpx2.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx2.Timeout(60.0),
            verify=_ssl_context(cert_file, cert_dir),
        )
    from promptctl.providers._sync_transport import SyncPooledClient, SyncPooledTransport

    transport = SyncPooledTransport(
        max_connections, ssl_context=lambda: _ssl_context(cert_file, cert_dir)
    )
    return SyncPooledClient(transport, timeout=60.0)


def ssl_context() -> ssl.SSLContext:
    """The process's SSL context for the environment's CA setting (`SSL_CERT_FILE`,
    `SSL_CERT_DIR`), shared by every client that verifies certificates."""
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx2's default context, built once per process and CA setting: loading the CA
    bundle costs ~20 ms of CPU, and every Gateway makes its own clients (an async one per
    event loop: `asyncio.run` per call makes one each time)."""
    return httpx2.create_ssl_context()
