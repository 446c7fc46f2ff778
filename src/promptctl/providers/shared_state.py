"""Fleet-wide rate limits, retry-after pauses and circuit breakers in Redis.

Why: a rate limit belongs to the API key, not to the process, and a provider that one
process saw fail is down for all of them. Each decision is one atomic Lua script on the
Redis server, timed by the server's clock (`TIME`), so processes on many hosts agree
without clock sync. Requests per minute are an exact sliding-window log (never more than
`rpm` starts in any window); tokens per minute a token bucket charged with what each
answer really used (it may go into debt, and waits until it refills).

Redis down never fails a call: every method returns None when Redis cannot be reached,
the caller then applies its local limiter or breaker, and the first failure is logged
once (a later recovery is logged too). While down, Redis is not retried for
`retry_down_s`, so an outage costs at most one connect timeout per interval.

Only imported (and `redis` with it) when `shared_state` is configured.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from promptctl.errors import ConfigError
from promptctl.providers.retry import MAX_WAIT_S

__all__ = ["SHARED_STATE_ENV", "SharedState", "redact_url", "shared_state_from"]

SHARED_STATE_ENV = "PROMPTCTL_SHARED_STATE"
log = logging.getLogger("promptctl.shared_state")
T = TypeVar("T")

# KEYS: request log (zset), pause, token bucket. ARGV: rpm, window ms, member, tpm.
# Returns 0 (go) or the milliseconds to wait before asking again.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local tpm = tonumber(ARGV[4])
if tpm > 0 then
  local b = redis.call('HMGET', KEYS[3], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or tpm
  local ts = tonumber(b[2]) or now
  tokens = math.min(tpm, tokens + (now - ts) * tpm / window)
  redis.call('HSET', KEYS[3], 'tokens', tokens, 'ts', now)
  redis.call('PEXPIRE', KEYS[3], window * 2)
  if tokens < 1 then return math.max(1, math.ceil((1 - tokens) * window / tpm)) end
end
local rpm = tonumber(ARGV[1])
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return 0
"""

# KEYS: request log. ARGV: member, window ms. A start counts from when its request is
# surely at the provider (the answer came back), not from when it was admitted: the
# provider's own window never sees more than `rpm` however long the request took to leave.
_FINISH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
"""

# KEYS: token bucket. ARGV: tpm, window ms, tokens used.
_SPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tpm, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or tpm
local ts = tonumber(b[2]) or now
tokens = math.min(tpm, tokens + (now - ts) * tpm / window) - tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], window * 2)
return 0
"""

# KEYS: pause. ARGV: ms. Never shortens a longer pause another process set.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""

# KEYS: open, tripped, probe, failures. ARGV: probe lease ms.
# -1 refused; 0 allowed, nothing to reset; 1 allowed, failures pending; 2 allowed as the probe.
_BREAKER_ALLOW = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return 2 end
  return -1
end
if tonumber(redis.call('GET', KEYS[4]) or '0') > 0 then return 1 end
return 0
"""

# KEYS: as above. ARGV: threshold, cool-down ms. Returns 1 when this failure opened it.
_BREAKER_FAIL = """
local n = redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], 86400000)
if redis.call('EXISTS', KEYS[2]) == 1 or n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
  redis.call('SET', KEYS[2], '1', 'PX', 86400000)
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
"""


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`: safe for logs and error messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class SharedState:
    """One Redis connection pool and the scripts; thread-safe, shared by all gateways."""

    def __init__(
        self,
        url: str,
        *,
        window_s: float = 60.0,
        prefix: str = "promptctl",
        timeout_s: float = 0.5,
        retry_down_s: float = 5.0,
    ) -> None:
        """`window_s` is the rate window (`rpm` = starts per window): 60 in production."""
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "shared_state needs the redis client, which is not installed",
                hint="install promptctl with its redis extra (docs/install.md), "
                "or pip install redis",
            ) from None
        self.url = redact_url(url)
        self.window_ms = max(1, int(window_s * 1000))
        self._prefix = prefix
        self._retry_down_s = retry_down_s
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry_on_timeout=False,
            )
        except ValueError as exc:
            raise ConfigError(
                f"shared_state {self.url}: {exc}", hint="redis://host:port/db"
            ) from None
        self._admit = self._client.register_script(_ADMIT)
        self._spend = self._client.register_script(_SPEND)
        self._pause = self._client.register_script(_PAUSE)
        self._finish = self._client.register_script(_FINISH)
        self._allow = self._client.register_script(_BREAKER_ALLOW)
        self._fail = self._client.register_script(_BREAKER_FAIL)
        self._ids = itertools.count()
        self._me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._down_until = 0.0
        self._warned = False
        self._lock = threading.Lock()

    # ---- rate limits ------------------------------------------------------------

    def ticket(self) -> str:
        """A name for one request start, unique in the fleet (`admit` then `finished`)."""
        return f"{self._me}-{next(self._ids)}"

    def admit(
        self, provider: str, rpm: int | None, tpm: int | None, ticket: str = ""
    ) -> float | None:
        """0 to go now (the start is counted), seconds to wait, or None: Redis is down."""
        keys = [self._key("rpm", provider), self._key("pause", provider)]
        keys.append(self._key("tpm", provider))
        args: list[str | int] = [rpm or 0, self.window_ms, ticket or self.ticket(), tpm or 0]
        wait_ms = self._run(lambda: self._admit(keys=keys, args=args))
        return None if wait_ms is None else int(wait_ms) / 1000.0

    def finished(self, provider: str, ticket: str) -> None:
        """The admitted request is answered: its start counts from now."""
        keys = [self._key("rpm", provider)]
        self._run(lambda: self._finish(keys=keys, args=[ticket, self.window_ms]))

    def spend(self, provider: str, tpm: int, tokens: int) -> None:
        """Charge the tokens an answer used to the provider's fleet-wide bucket."""
        keys = [self._key("tpm", provider)]
        self._run(lambda: self._spend(keys=keys, args=[tpm, self.window_ms, tokens]))

    def pause(self, provider: str, seconds: float) -> None:
        """A provider's retry-after: no process starts a call to it for `seconds`, at most
        `MAX_WAIT_S` (a retry waits no longer either: one answer's `retry-after: 86400`
        must not stop the fleet for a day; the next 429 pauses it again)."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        ms = max(1, int(min(seconds, MAX_WAIT_S) * 1000))
        keys = [self._key("pause", provider)]
        self._run(lambda: self._pause(keys=keys, args=[ms]))

    # ---- circuit breakers ---------------------------------------------------------

    def breaker_allow(self, target: str, lease_s: float) -> int | None:
        """-1 refused, 0/1 allowed (1: failures to reset on success), 2 the probe; None: down."""
        lease = max(1, int(lease_s * 1000))
        result = self._run(lambda: self._allow(keys=self._breaker_keys(target), args=[lease]))
        return None if result is None else int(result)

    def breaker_failure(self, target: str, threshold: int, cooldown_s: float) -> bool | None:
        """Count a failure; True when it opened the breaker for the fleet, None: down."""
        args = [threshold, max(1, int(cooldown_s * 1000))]
        result = self._run(lambda: self._fail(keys=self._breaker_keys(target), args=args))
        return None if result is None else bool(result)

    def breaker_success(self, target: str) -> bool | None:
        """Close the breaker for the fleet (a success resets its failures); None: down."""
        return self._run(lambda: self._client.delete(*self._breaker_keys(target)) >= 0)

    def breaker_abandon(self, target: str) -> None:
        """The trial call ended without an outcome: another process may probe."""
        self._run(lambda: self._client.delete(self._breaker_keys(target)[2]))

    def script(self, source: str) -> Any:
        """A Lua script registered on this connection (for the shared response cache)."""
        return self._client.register_script(source)

    def call(self, op: Callable[[Any], T]) -> T | None:
        """`op(redis client)`, or None when Redis is down (logged once)."""
        return self._run(lambda: op(self._client))

    def close(self) -> None:
        self._client.close()

    # ---- plumbing ---------------------------------------------------------------------

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:{kind}:{name}"

    def _breaker_keys(self, target: str) -> list[str]:
        return [self._key(f"cb:{part}", target) for part in ("open", "tripped", "probe", "fails")]

    def _run(self, op: Callable[[], T]) -> T | None:
        now = time.monotonic()
        if now < self._down_until:
            return None
        try:
            result = op()
        except self._errors as exc:
            self._down(now, exc)
            return None
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    log.warning("shared state %s is reachable again: shared limits", self.url)
        return result

    def _down(self, now: float, exc: BaseException) -> None:
        with self._lock:
            self._down_until = now + self._retry_down_s
            if not self._warned:
                self._warned = True
                log.warning(
                    "shared state %s unreachable (%s): using this process's own limits and "
                    "circuit breakers until it is back",
                    self.url,
                    type(exc).__name__,
                )


def shared_state_from(
    configured: str | None, env: Mapping[str, str], *, window_s: float = 60.0
) -> SharedState | None:
    """The shared state to use: `PROMPTCTL_SHARED_STATE` over `configured`, else none.

    Callers import this module only when one of the two is set, so a process without
    shared state never imports redis.
    """
    url = env.get(SHARED_STATE_ENV) or configured
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"shared state {redact_url(url)!r} is not a redis:// URL",
            hint="redis://host:6379/0 (see docs/deployment.md)",
        )
    return SharedState(url, window_s=window_s)
