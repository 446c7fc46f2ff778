"""Per-provider concurrency and requests-per-minute limits, shared per event loop.

Every Gateway of a process that runs on the same event loop shares one limiter per
provider name, so two evaluations in one process cannot together exceed a provider's
`max_concurrency` or `rpm`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from promptctl.spec.model import ProviderSettings

__all__ = ["ProviderLimiter", "limiter_for"]

_WINDOW_S = 60.0


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
            while True:
                now = self.clock()
                while self._starts and now - self._starts[0] >= _WINDOW_S:
                    self._starts.popleft()
                if len(self._starts) < self.rpm:
                    self._starts.append(now)
                    return
                await self.sleep(_WINDOW_S - (now - self._starts[0]))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._sem:
            await self._rate()
            yield


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ProviderLimiter]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(
    settings: ProviderSettings,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> ProviderLimiter:
    """The limiter of `settings.name` on the running loop (created on first use)."""
    loop = asyncio.get_running_loop()
    per_loop = _registry.setdefault(loop, {})
    limiter = per_loop.get(settings.name)
    if limiter is None:
        limiter = ProviderLimiter(settings.max_concurrency, settings.rpm, clock, sleep)
        per_loop[settings.name] = limiter
    return limiter
