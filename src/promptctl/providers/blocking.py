"""Driving the Gateway's async call path without an event loop (`complete_sync`).

Why: the async and the blocking path must share one implementation of cache, limits,
retry, breaker and fallback. The blocking path runs that same coroutine with awaitables
that never suspend (a blocking HTTP client, thread-safe limits, a blocking sleep), so
`drive` can step it to its result on the calling thread.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from promptctl.providers.limits import SyncLimiter

__all__ = ["BlockingPost", "BlockingSleep", "BlockingSlot", "drive", "drive_iter", "loop_iter"]

T = TypeVar("T")


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the blocking path) to its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("the blocking gateway path suspended")  # a bug, not a user error


def drive_iter(agen: AsyncGenerator[T, None]) -> Iterator[T]:
    """Iterate an async generator that never suspends (the blocking streaming path);
    closing the iterator closes the generator, on this thread."""
    try:
        while True:
            step = agen.__anext__()
            try:
                step.send(None)
            except StopIteration as done:
                yield done.value
                continue
            except StopAsyncIteration:
                return
            step.close()
            raise RuntimeError("the blocking gateway path suspended")
    finally:
        closing = agen.aclose()
        try:
            closing.send(None)
        except StopIteration:
            pass
        else:
            closing.close()


def loop_iter(
    agen: AsyncGenerator[T, None], run: Callable[[Coroutine[Any, Any, Any]], Any]
) -> Iterator[T]:
    """Iterate an async generator on another event loop: `run(coro)` runs a coroutine
    there and returns its result (the Gateway's private loop thread)."""

    async def step() -> T:
        return await agen.__anext__()

    try:
        while True:
            try:
                item: T = run(step())
            except StopAsyncIteration:
                return
            yield item
    finally:
        run(agen.aclose())


class BlockingPost:
    """`await client.post(...)` over a blocking client: it never suspends."""

    def __init__(self, client: Any) -> None:
        self._client = client
        if hasattr(client, "post_bytes"):  # the pooled client's short path, as async
            self.post_bytes = self._post_bytes

    async def post(self, url: str, **kwargs: Any) -> Any:
        return self._client.post(url, **kwargs)

    async def _post_bytes(self, url: str, **kwargs: Any) -> Any:
        return self._client.post_bytes(url, **kwargs)


class BlockingSlot:
    """`async with limiter.slot()` over a thread-safe limiter: it never suspends."""

    def __init__(self, limiter: SyncLimiter) -> None:
        self._limiter = limiter
        self._ticket: str | None = None  # one call's attempts take their slots in turn

    def slot(self) -> BlockingSlot:
        return self

    async def __aenter__(self) -> None:
        self._ticket = self._limiter.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._limiter.release(self._ticket)


class BlockingSleep:
    """`await sleep(s)` over a blocking sleep: it never suspends."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep

    async def __call__(self, seconds: float) -> None:
        self._sleep(seconds)
