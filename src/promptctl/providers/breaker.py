"""A circuit breaker per provider+model.

After `threshold` consecutive failed calls the circuit opens: calls skip this target at
once (kind `circuit_open`) instead of waiting on a provider that is down. After
`cooldown_s` one trial call is let through (half-open); success closes the circuit,
failure opens it for another cool-down. Thread-safe: blocking calls update breakers
from the application's threads.

With shared state (Redis) a `SharedBreaker` keeps the state for the whole fleet: one
process's failures open it for all, and one process at a time probes a half-open target.
When Redis cannot answer, the process's own breaker decides.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from promptctl.providers.shared_state import SharedState

__all__ = ["Breaker", "Breakers", "CircuitBreaker", "SharedBreaker"]

State = Literal["closed", "open", "half_open"]


class Breaker(Protocol):
    def allow(self) -> bool: ...
    def record_success(self) -> None: ...
    def record_failure(self) -> None: ...


@dataclass
class CircuitBreaker:
    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _trial_out: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one trial at a time."""
        if self.opened_at is None:
            return True  # closed: the common case, no lock
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "half_open" and not self._trial_out:
                self._trial_out = True
                return True
            return False

    def record_success(self) -> None:
        if self.opened_at is None and not self.failures:
            return
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._trial_out = False

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self._trial_out or self.failures >= self.threshold:
                self.opened_at = self.clock()
            self._trial_out = False


@dataclass
class SharedBreaker:
    """The fleet's breaker of one target in Redis, the local one when Redis is down."""

    target: str
    local: CircuitBreaker
    shared: SharedState
    _reset: threading.local = field(default_factory=threading.local, repr=False)

    def allow(self) -> bool:
        verdict = self.shared.breaker_allow(self.target, self.local.cooldown_s)
        if verdict is None:
            return self.local.allow()
        self._reset.pending = verdict > 0  # failures or a probe: a success must clear them
        return verdict >= 0

    def record_success(self) -> None:
        self.local.record_success()
        if getattr(self._reset, "pending", True):
            self.shared.breaker_success(self.target)

    def record_failure(self) -> None:
        self.local.record_failure()
        self._reset.pending = True
        self.shared.breaker_failure(self.target, self.local.threshold, self.local.cooldown_s)


@dataclass
class Breakers:
    """The breakers of one gateway, keyed by `provider/model` (fleet-wide with `shared`)."""

    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    shared: SharedState | None = None
    _by_target: dict[str, Breaker] = field(default_factory=dict)

    def get(self, target: str) -> Breaker:
        breaker = self._by_target.get(target)
        if breaker is None:  # setdefault: two threads racing here share one breaker
            local = CircuitBreaker(self.threshold, self.cooldown_s, self.clock)
            fresh: Breaker = local
            if self.shared is not None:
                fresh = SharedBreaker(target, local, self.shared)
            breaker = self._by_target.setdefault(target, fresh)
        return breaker
