"""A circuit breaker per provider+model.

After `threshold` consecutive failed calls the circuit opens: calls skip this target at
once (kind `circuit_open`) instead of waiting on a provider that is down. After
`cooldown_s` one trial call is let through (half-open); success closes the circuit,
failure opens it for another cool-down. Thread-safe: blocking calls update breakers
from the application's threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Breakers", "CircuitBreaker"]

State = Literal["closed", "open", "half_open"]


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
class Breakers:
    """The breakers of one gateway, keyed by `provider/model`."""

    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _by_target: dict[str, CircuitBreaker] = field(default_factory=dict)

    def get(self, target: str) -> CircuitBreaker:
        breaker = self._by_target.get(target)
        if breaker is None:  # setdefault: two threads racing here share one breaker
            fresh = CircuitBreaker(self.threshold, self.cooldown_s, self.clock)
            breaker = self._by_target.setdefault(target, fresh)
        return breaker
