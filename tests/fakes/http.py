"""One blocking httpx2 client per test process, for tests that speak HTTP to the fakes.

`httpx2.post(...)` builds a client per call, and with it an SSL context (the CA bundle
loaded: ~20 ms of CPU) even for a plain http URL.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx2

__all__ = ["post", "stream"]


@functools.cache
def _client() -> httpx2.Client:
    return httpx2.Client(timeout=10.0)


def post(url: str, **kwargs: Any) -> httpx2.Response:
    return _client().post(url, **kwargs)


def stream(method: str, url: str, **kwargs: Any) -> Any:
    """`with stream("POST", url, json=...) as resp:` as `httpx2.stream`."""
    return _client().stream(method, url, **kwargs)
