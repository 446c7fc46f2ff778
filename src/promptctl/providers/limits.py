"""Per-provider concurrency and requests-per-minute limits.

Async calls share one limiter per provider name per event loop, so two evaluations on
one loop cannot together exceed a provider's `max_concurrency` or `rpm`; blocking calls
(`Gateway.complete_sync`, any thread) share one thread-safe limiter per provider name per
process. A limiter whose settings no longer match (a `Runtime.reload()` changed
`max_concurrency` or `rpm`) is replaced on its next use; calls holding a slot of the old
one finish under the old limits.

With shared state (Redis) the rate part is the fleet's: `rpm`, `tpm` and any provider
retry-after pause are decided by one Redis script per call (see shared_state); when Redis
cannot answer, the local window applies. `max_concurrency` always stays per process.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from promptctl.promptfile.model import ProviderSettings

if TYPE_CHECKING:
    from promptctl.providers.shared_state import SharedState

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
    name: str = ""
    tpm: int | None = None
    shared: SharedState | None = None
    _sem: asyncio.Semaphore = field(init=False)
    _starts: deque[float] = field(default_factory=deque)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self._sem = asyncio.Semaphore(max(1, self.max_concurrency))

    async def _rate(self) -> str | None:
        """The fleet's ticket of this start, or None when the local window admitted it."""
        if self.shared is not None:
            ticket = self.shared.ticket()
            while wait := self.shared.admit(self.name, self.rpm, self.tpm, ticket):
                await self.sleep(wait)
            if wait is not None:
                return ticket  # None: Redis down, the local window decides
        if not self.rpm:
            return None
        async with self._lock:
            while wait := _admit(self._starts, self.clock(), self.rpm):
                await self.sleep(wait)
        return None

    def slot(self) -> _Slot:
        """`async with limiter.slot():` one call under the limits."""
        return _Slot(self)


class _Slot:
    """A slot of a `ProviderLimiter` (a class: a generator-based context manager costs
    a generator, a wrapper and two frames per call, on every provider call)."""

    __slots__ = ("_limiter", "_ticket")

    def __init__(self, limiter: ProviderLimiter) -> None:
        self._limiter = limiter
        self._ticket: str | None = None

    async def __aenter__(self) -> None:
        limiter = self._limiter
        await limiter._sem.acquire()
        if limiter.shared is None and not limiter.rpm:
            return  # no rate to wait for (`_rate` would say so, as one more coroutine)
        try:
            self._ticket = await limiter._rate()
        except BaseException:
            limiter._sem.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        limiter, ticket = self._limiter, self._ticket
        try:
            if ticket is not None and limiter.rpm and limiter.shared is not None:
                limiter.shared.finished(limiter.name, ticket)
        finally:
            limiter._sem.release()


class CallCap:
    """At most `slots` calls at once, handed over in arrival order: `release` gives the
    slot straight to the first waiter. O(1) a call, where `asyncio.Semaphore` (3.11)
    scans its waiters on every `acquire`, `release` and `locked`: with an evaluation's
    cases waiting for every slot, ~50 generator steps a call at concurrency 50."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, slots: int) -> None:
        self._free = max(1, slots)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> bool:
        """Whether a call waits for a slot (cancelled waiters are removed at once)."""
        return bool(self._waiters)

    async def acquire(self) -> None:
        if self._free and not self._waiters:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the slot, then cancelled: the next one gets it
            elif waiter in self._waiters:  # (a `release` meanwhile may have dropped it)
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to it directly
                return
        self._free += 1


class CappedLimiter:
    """A provider's limiter under a cap every provider shares: an evaluation's
    `--concurrency`, counted in calls in flight across providers (`Gateway(call_cap=)`).

    The evaluation runs more cases than calls (each worker's next case is rendered and
    waiting while its call is out): when a call's answer is read and its slot freed, the
    case waiting for it sends at once, before that answer is recorded and scored."""

    __slots__ = ("_cap", "_limiter")

    def __init__(self, limiter: ProviderLimiter, cap: CallCap) -> None:
        self._limiter = limiter
        self._cap = cap

    def slot(self) -> _CappedSlot:
        return _CappedSlot(self._limiter.slot(), self._cap)


class _CappedSlot:
    __slots__ = ("_cap", "_inner")

    def __init__(self, inner: _Slot, cap: CallCap) -> None:
        self._inner = inner
        self._cap = cap

    async def __aenter__(self) -> None:
        await self._cap.acquire()  # first, as a worker held its case before: a provider
        try:  # with a lower limit of its own does not hold the cap's slots idle
            await self._inner.__aenter__()
        except BaseException:
            self._cap.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._inner.__aexit__(*exc)
        finally:
            waiting = self._cap.waiting
            self._cap.release()
        if waiting:  # the call the slot went to runs first: it sends
            await asyncio.sleep(0)


@dataclass
class SyncLimiter:
    """The blocking twin of ProviderLimiter; `slot()` blocks the calling thread."""

    max_concurrency: int
    rpm: int | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    name: str = ""
    tpm: int | None = None
    shared: SharedState | None = None
    _sem: threading.BoundedSemaphore = field(init=False)
    _starts: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._sem = threading.BoundedSemaphore(max(1, self.max_concurrency))

    def acquire(self) -> str | None:
        """Take a slot; returns the fleet's ticket of this start (give it to `release`)."""
        self._sem.acquire()
        try:
            if self.shared is not None:
                ticket = self.shared.ticket()
                while wait := self.shared.admit(self.name, self.rpm, self.tpm, ticket):
                    self.sleep(wait)
                if wait is not None:
                    return ticket
            if not self.rpm:
                return None
            with self._lock:
                while wait := _admit(self._starts, self.clock(), self.rpm):
                    self.sleep(wait)
            return None
        except BaseException:
            self._sem.release()
            raise

    def release(self, ticket: str | None = None) -> None:
        self._sem.release()
        if ticket is not None and self.rpm and self.shared is not None:
            self.shared.finished(self.name, ticket)


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ProviderLimiter]] = (
    weakref.WeakKeyDictionary()
)
_sync_registry: dict[str, SyncLimiter] = {}
_sync_lock = threading.Lock()


def _stale(
    limiter: ProviderLimiter | SyncLimiter | None,
    settings: ProviderSettings,
    shared: SharedState | None,
) -> bool:
    if limiter is None or limiter.shared is not shared:
        return True
    mine = (limiter.max_concurrency, limiter.rpm, limiter.tpm)
    return mine != (settings.max_concurrency, settings.rpm, settings.tpm)


def limiter_for(
    settings: ProviderSettings,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    shared: SharedState | None = None,
) -> ProviderLimiter:
    """The limiter of `settings.name` on the running loop (created on first use)."""
    loop = asyncio.get_running_loop()
    per_loop = _registry.get(loop)
    if per_loop is None:
        per_loop = _registry[loop] = {}
    limiter = per_loop.get(settings.name)
    if limiter is None or _stale(limiter, settings, shared):
        limiter = ProviderLimiter(
            settings.max_concurrency,
            settings.rpm,
            clock,
            sleep,
            settings.name,
            settings.tpm,
            shared,
        )
        per_loop[settings.name] = limiter
    return limiter


def sync_limiter_for(
    settings: ProviderSettings,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    shared: SharedState | None = None,
) -> SyncLimiter:
    """The process-wide blocking limiter of `settings.name` (created on first use)."""
    limiter = _sync_registry.get(settings.name)
    if limiter is not None and not _stale(limiter, settings, shared):
        return limiter
    with _sync_lock:
        limiter = _sync_registry.get(settings.name)
        if limiter is None or _stale(limiter, settings, shared):
            limiter = SyncLimiter(
                settings.max_concurrency,
                settings.rpm,
                clock,
                sleep,
                settings.name,
                settings.tpm,
                shared,
            )
            _sync_registry[settings.name] = limiter
        return limiter
