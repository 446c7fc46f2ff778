"""A circuit breaker per provider+model.

After `threshold` consecutive failed calls the circuit opens: calls skip this target at
once (kind `circuit_open`) instead of waiting on a provider that is down. After
`cooldown_s` one trial call is let through (half-open); success closes the circuit,
failure opens it for another cool-down. Thread-safe: blocking calls update breakers
from the application's threads.

An evaluation uses a cool-down of 0 with waiting callers (see `Gateway`, `probe_wait`):
the next case after the circuit opens is the trial, and cases arriving meanwhile wait
for its outcome instead of failing, so a burst of errors never turns the healthy cases
after it into errors. Every opening is kept in `history` (when, after how many
failures, when it closed) for the run's report.

With shared state (Redis) a `SharedBreaker` keeps the state for the whole fleet: one
process's failures open it for all, and one process at a time probes a half-open target
(a lease in Redis). When Redis cannot answer, the process's own breaker decides.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from promptctl.providers.shared_state import SharedState

__all__ = [
    "Admission",
    "BreakerEvent",
    "Breakers",
    "CircuitBreaker",
    "SharedBreaker",
    "wait_for_trial",
]

State = Literal["closed", "open", "half_open"]
Admission = Literal["call", "trial"]
TRIAL_POLL_S = 0.005  # how often a call waiting on a trial call looks at its outcome


@dataclass
class BreakerEvent:
    """One time a circuit opened: wall-clock times (epoch seconds)."""

    target: str
    opened_at: float
    failures: int  # consecutive failures that opened it
    closed_at: float | None = None  # a trial call answered; None: still open at the end
    failed_trials: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "opened_at": self.opened_at,
            "failures": self.failures,
            "closed_at": self.closed_at,
            "failed_trials": self.failed_trials,
        }


@dataclass
class CircuitBreaker:
    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    target: str = ""
    history: list[BreakerEvent] = field(default_factory=list, repr=False)
    _trial_out: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    @property
    def trial_out(self) -> bool:
        """A half-open trial call is in flight (its outcome decides the circuit)."""
        return self._trial_out

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one trial at a time."""
        return self.admit() is not None

    def admit(self) -> Admission | None:
        """Like `allow`, saying how: a plain "call", the half-open "trial", or None (skip).

        A failure is reported with `record_failure(trial=...)` accordingly, so a straggler
        let in before the circuit opened cannot settle the trial's fate.
        """
        if self.opened_at is None:
            return "call"  # closed: the common case, no lock
        with self._lock:
            if self.state == "closed":
                return "call"
            if self.state == "half_open" and not self._trial_out:
                self._trial_out = True
                return "trial"
            return None

    def abandon(self) -> None:
        """The trial call ended without an outcome (cancelled, a bug): let another try."""
        if self._trial_out:
            with self._lock:
                self._trial_out = False

    def record_success(self) -> None:
        """The target answered: the circuit closes (whoever's call it was)."""
        if self.opened_at is None and not self.failures:
            return
        with self._lock:
            if self.opened_at is not None and self.history:
                self.history[-1].closed_at = time.time()
            self.failures = 0
            self.opened_at = None
            self._trial_out = False

    def record_failure(self, *, trial: bool = False) -> None:
        with self._lock:
            if trial and self.opened_at is not None:
                self._trial_out = False
                self.opened_at = self.clock()  # another cool-down
                if self.history:
                    self.history[-1].failed_trials += 1
                return
            self.failures += 1
            if self.opened_at is None:
                if self.failures >= self.threshold:
                    self.history.append(BreakerEvent(self.target, time.time(), self.failures))
                    self.opened_at = self.clock()
            elif not self._trial_out:  # a straggler: the cool-down restarts
                self.opened_at = self.clock()


@dataclass
class SharedBreaker(CircuitBreaker):
    """The fleet's breaker of one target, in Redis; its own (local) state when Redis is down.

    The local state is always kept too (it is what decides during an outage).
    """

    shared: SharedState | None = None
    _reset: threading.local = field(default_factory=threading.local, repr=False)

    def admit(self) -> Admission | None:
        assert self.shared is not None
        verdict = self.shared.breaker_allow(self.target, max(self.cooldown_s, 1.0))
        if verdict is None:
            return super().admit()
        self._reset.pending = verdict > 0  # failures or a trial: a success must clear them
        if verdict < 0:
            return None
        return "trial" if verdict == 2 else "call"

    def abandon(self) -> None:
        super().abandon()
        assert self.shared is not None
        self.shared.breaker_abandon(self.target)

    def record_success(self) -> None:
        super().record_success()
        assert self.shared is not None
        if getattr(self._reset, "pending", True):
            self.shared.breaker_success(self.target)

    def record_failure(self, *, trial: bool = False) -> None:
        super().record_failure(trial=trial)
        self._reset.pending = True
        assert self.shared is not None
        self.shared.breaker_failure(self.target, self.threshold, self.cooldown_s)


@dataclass
class Breakers:
    """The breakers of one gateway, keyed by `provider/model` (fleet-wide with `shared`)."""

    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    shared: SharedState | None = None
    _by_target: dict[str, CircuitBreaker] = field(default_factory=dict)

    def get(self, target: str) -> CircuitBreaker:
        breaker = self._by_target.get(target)
        if breaker is None:  # setdefault: two threads racing here share one breaker
            args = (self.threshold, self.cooldown_s, self.clock)
            fresh = (
                CircuitBreaker(*args, target=target)
                if self.shared is None
                else SharedBreaker(*args, target=target, shared=self.shared)
            )
            breaker = self._by_target.setdefault(target, fresh)
        return breaker

    def history(self) -> list[BreakerEvent]:
        """Every opening of every circuit, oldest first."""
        events = [e for b in list(self._by_target.values()) for e in b.history]
        return sorted(events, key=lambda e: e.opened_at)


async def wait_for_trial(
    breaker: CircuitBreaker, *, deadline: float, clock: Callable[[], float], blocking: bool
) -> Admission | None:
    """Wait (until `deadline` on `clock`) for the trial call in flight; how the caller
    may call now (`CircuitBreaker.admit`), or None to skip the target.

    A successful trial closes the circuit: go. A failed one re-opens it: the caller skips
    the target as the trial did (one trial per wave of waiting calls, not one each).
    `blocking` callers (no event loop) sleep their thread.
    """
    opened = breaker.opened_at
    while breaker.trial_out and clock() < deadline:
        if blocking:
            time.sleep(TRIAL_POLL_S)
        else:
            await asyncio.sleep(TRIAL_POLL_S)
    if breaker.opened_at is not None and breaker.opened_at != opened:
        return None
    return breaker.admit()
