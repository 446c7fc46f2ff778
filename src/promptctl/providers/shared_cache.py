"""The response cache shared by a fleet: the local SQLite cache backed by Redis.

Why: evaluation shards and CI runners on different machines ask the same questions;
with `shared_state` one runner's answer serves the others. Keys are exactly the SQLite
cache's (`ChatRequest.cache_key(repeat=…)`, which holds no secret), stored under
`promptctl:cache:<key>`; values are the same redacted JSON the SQLite cache stores (the
gateway's redactor removes known keys before `put`). Entries expire after `ttl_s`,
entries larger than `max_entry_bytes` are not shared, and the shared cache keeps at most
`max_entries` (the oldest are evicted, atomically, by one Lua script).

Reads go to the local file first; a Redis hit is copied into it. Redis down: the local
cache alone, as without shared state (SharedState logs that once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from promptctl.errors import ProviderError
from promptctl.promptfile.json_text import loads_clean
from promptctl.providers.cache import ResponseCache
from promptctl.providers.codec import response_from_data, response_to_data
from promptctl.providers.shared_state import SharedState
from promptctl.providers.types import ChatResponse

__all__ = ["SharedResponseCache"]

# KEYS: entry, index (zset of keys by time). ARGV: value, ttl ms, now ms, max entries.
_PUT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]))
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess > 0 then
  local old = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #old, 2 do redis.call('DEL', old[i]) end
end
return 0
"""


class SharedResponseCache:
    """`ResponseCache`'s interface (get, has, put, close) over the local file and Redis."""

    def __init__(
        self,
        local: ResponseCache,
        shared: SharedState,
        *,
        ttl_s: float = 7 * 86400.0,
        max_entry_bytes: int = 1 << 20,
        max_entries: int = 100_000,
    ) -> None:
        self.local = local
        self.path = local.path
        self._shared = shared
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._max_entry_bytes = max_entry_bytes
        self._max_entries = max_entries
        self._put = shared.script(_PUT)

    def _key(self, key: str) -> str:
        return shared_key(key)

    def get(self, key: str) -> ChatResponse | None:
        hit = self.local.get(key)
        if hit is not None:
            return hit
        raw = self._shared.call(lambda client: client.get(self._key(key)))
        if not raw:
            return None
        try:
            response = response_from_data(loads_clean(raw))
        except (ValueError, TypeError, RecursionError, ProviderError) as exc:
            self.local.note_bad_entry(exc)  # as a damaged local entry: a miss, said once
            return None
        self.local.put(key, response)  # already redacted when it was shared
        return response

    def has(self, key: str) -> bool:
        if self.local.has(key):
            return True
        return bool(self._shared.call(lambda client: client.exists(self._key(key))))

    def put(
        self, key: str, response: ChatResponse, *, redact: Callable[[str], str] | None = None
    ) -> None:
        self.local.put(key, response, redact=redact)
        payload = json.dumps(response_to_data(response), sort_keys=True)
        if redact is not None:
            payload = redact(payload)
        if len(payload.encode()) > self._max_entry_bytes:
            return
        keys = [self._key(key), shared_key("")]
        args = [payload, self._ttl_ms, int(time.time() * 1000), self._max_entries]
        self._shared.call(lambda _: self._put(keys=keys, args=args))

    def close(self) -> None:
        self.local.close()


def shared_key(key: str) -> str:
    """The Redis key of a cache entry (`promptctl:cache:` + the SQLite cache's key);
    the bare prefix is the index of entries by time."""
    return f"promptctl:cache:{key}" if key else "promptctl:cache-index"
