"""Per-provider concurrency and requests-per-minute limits.

Async calls share one limiter per provider name per event loop, so two evaluations on
one loop cannot together exceed a provider's `max_concurrency` or `rpm`; blocking calls
(`Gateway.complete_sync`, any thread) share one thread-safe limiter per provider name per
process. A limiter whose settings no longer match (a `Runtime.reload()` changed
`max_concurrency` or `rpm`) is replaced on its next use; calls holding a slot of the old
one finish under the old limits.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from promptctl.promptfile.model import ProviderSettings

__all__ = ["ProviderLimiter", "SyncLimiter", "limiter_for", "sync_limiter_for"]

_WINDOW_S = 60.0


def _admit(starts: deque[float], now: float, rpm: int) -> float:
    """Record a start at `now` and return 0, or return how long to wait for a free slot."""
    while starts and now - starts[0] >= _WINDOW_S:
        starts.popleft()
    if len(starts) < rpm:
        starts.append(now)
        return 0.0
    return _WINDOW_S - (now - starts[0])


@dataclass
class ProviderLimiter:
    max_concurrency: int
    rpm: int | None
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    _sem: asyncio.Semaphore = field(init=False)
    _starts: deque[float] = field(default_factory=deque)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self._sem = asyncio.Semaphore(max(1, self.max_concurrency))

    async def _rate(self) -> None:
        if not self.rpm:
            return
        async with self._lock:
            while wait := _admit(self._starts, self.clock(), self.rpm):
                await self.sleep(wait)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._sem:
            await self._rate()
            yield


@dataclass
class SyncLimiter:
    """The blocking twin of ProviderLimiter; `slot()` blocks the calling thread."""

    max_concurrency: int
    rpm: int | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    _sem: threading.BoundedSemaphore = field(init=False)
    _starts: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._sem = threading.BoundedSemaphore(max(1, self.max_concurrency))

    def acquire(self) -> None:
        self._sem.acquire()
        if not self.rpm:
            return
        try:
            with self._lock:
                while wait := _admit(self._starts, self.clock(), self.rpm):
                    self.sleep(wait)
        except BaseException:
            self._sem.release()
            raise

    def release(self) -> None:
        self._sem.release()


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ProviderLimiter]] = (
    weakref.WeakKeyDictionary()
)
_sync_registry: dict[str, SyncLimiter] = {}
_sync_lock = threading.Lock()


def _stale(limiter: ProviderLimiter | SyncLimiter | None, settings: ProviderSettings) -> bool:
    return limiter is None or (limiter.max_concurrency, limiter.rpm) != (
        settings.max_concurrency,
        settings.rpm,
    )


def limiter_for(
    settings: ProviderSettings,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> ProviderLimiter:
    """The limiter of `settings.name` on the running loop (created on first use)."""
    loop = asyncio.get_running_loop()
    per_loop = _registry.get(loop)
    if per_loop is None:
        per_loop = _registry[loop] = {}
    limiter = per_loop.get(settings.name)
    if limiter is None or _stale(limiter, settings):
        limiter = ProviderLimiter(settings.max_concurrency, settings.rpm, clock, sleep)
        per_loop[settings.name] = limiter
    return limiter


def sync_limiter_for(
    settings: ProviderSettings,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> SyncLimiter:
    """The process-wide blocking limiter of `settings.name` (created on first use)."""
    limiter = _sync_registry.get(settings.name)
    if limiter is not None and not _stale(limiter, settings):
        return limiter
    with _sync_lock:
        limiter = _sync_registry.get(settings.name)
        if limiter is None or _stale(limiter, settings):
            limiter = SyncLimiter(settings.max_concurrency, settings.rpm, clock, sleep)
            _sync_registry[settings.name] = limiter
        return limiter
