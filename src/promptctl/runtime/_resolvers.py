"""Context resolvers: functions that fill inputs the caller did not pass, on a budget.

A resolver is registered for one input name and is called as `fn(inputs)`, where
`inputs` is a read-only view of what it reads: the names in its `reads` (default: every
input the caller passed; a name another resolver fills makes it wait for that one).
Resolvers run only for inputs the prompt declares and the caller omitted. Independent
resolvers run concurrently: on the caller's event loop in `arun()` (sync ones in a
shared thread pool), in that shared pool in `run()`.

Degradation rules (docs/runtime.md, "Context"): a resolver that times out (`timeout_s`)
or raises gives its `fallback` when it has one, else the input's `default` from the
prompt's input schema (applied by validation), else — an optional input with neither —
nothing; only a required input with neither fails the call with `ContextError`, naming
the input and the cause. Every degraded input is reported as `(name, reason)`.

With `cache_ttl_s`, a value is kept for that long, keyed by the resolver and the values
it read (an LRU bounded at `cache_size` entries); degraded values are never cached.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from promptctl.errors import ContextError
from promptctl.promptfile.model import Prompt

__all__ = ["NO_FALLBACK", "Degraded", "Resolver", "ResolverSpec", "Resolvers", "TTLCache"]

Resolver = Callable[[Mapping[str, Any]], Any]
Degraded = tuple[str, str]  # (input name, reason)


class _NoFallback:
    def __repr__(self) -> str:
        return "NO_FALLBACK"


NO_FALLBACK: Any = _NoFallback()
_POOL_SIZE = 8
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    """One small pool per process for sync resolvers (threads start on first use)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="promptctl-resolver")
    return _pool


class TTLCache:
    """A small LRU with per-entry expiry; a hit is a dict lookup under a lock."""

    def __init__(self, ttl_s: float, size: int, clock: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self._clock():
                del self._data[key]
                return False, None
            self._data.move_to_end(key)
            return True, entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = (self._clock() + self.ttl_s, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class ResolverSpec:
    """One registered resolver and its budget."""

    name: str
    fn: Resolver
    timeout_s: float | None = None
    fallback: Any = NO_FALLBACK
    reads: tuple[str, ...] | None = None
    cache: TTLCache | None = None
    is_async: bool = field(default=False)

    def view(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.reads is None:
            return dict(values)
        return {k: values[k] for k in self.reads if k in values}

    def key(self, view: Mapping[str, Any]) -> Hashable | None:
        """The cache key: the values read, when they are hashable (else: no caching)."""
        try:
            key = tuple(sorted((k, _freeze(v)) for k, v in view.items()))
            hash(key)
        except TypeError:
            return None
        return key


def _freeze(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value  # type: ignore[no-any-return]


@dataclass
class Resolved:
    """The values after resolution and what was degraded."""

    values: dict[str, Any]
    degraded: tuple[Degraded, ...] = ()


class Resolvers:
    """A name -> resolver table; thread-safe registration, lock-free lookup."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._table: dict[str, ResolverSpec] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def register(
        self,
        name: str,
        fn: Resolver,
        *,
        timeout_s: float | None = None,
        cache_ttl_s: float | None = None,
        cache_size: int = 1024,
        fallback: Any = NO_FALLBACK,
        reads: tuple[str, ...] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"resolver for {name!r} is not callable")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"resolver {name!r}: timeout_s must be > 0")
        if cache_ttl_s is not None and (cache_ttl_s <= 0 or cache_size < 1):
            raise ValueError(f"resolver {name!r}: cache_ttl_s and cache_size must be > 0")
        spec = ResolverSpec(
            name=name,
            fn=fn,
            timeout_s=timeout_s,
            fallback=fallback,
            reads=tuple(reads) if reads is not None else None,
            cache=TTLCache(cache_ttl_s, cache_size, self._clock) if cache_ttl_s else None,
            is_async=inspect.iscoroutinefunction(fn),
        )
        with self._lock:
            table = dict(self._table)
            table[name] = spec
            self._table = table  # copy-on-write: readers never see a half-updated dict

    def get(self, name: str) -> ResolverSpec | None:
        return self._table.get(name)

    def _waves(self, prompt: Prompt, given: Mapping[str, Any]) -> list[list[ResolverSpec]]:
        """Pending resolvers grouped so each group depends only on earlier ones."""
        table = self._table
        if not table:
            return []
        pending = {n: table[n] for n in prompt.inputs if n not in given and n in table}
        waves: list[list[ResolverSpec]] = []
        done: set[str] = set()
        while pending:
            ready = [
                s
                for s in pending.values()
                if s.reads is None or all(r not in pending or r in done for r in s.reads)
            ]
            if not ready:
                names = ", ".join(sorted(pending))
                raise ContextError(
                    f"prompt {prompt.id}: resolvers {names} read each other (a cycle)",
                    hint="make one of them read only inputs the caller passes",
                )
            waves.append(ready)
            for s in ready:
                done.add(s.name)
                del pending[s.name]
        return waves

    def resolve_sync(self, prompt: Prompt, given: Mapping[str, Any]) -> Resolved:
        """Fill missing inputs; concurrent resolvers run in the shared pool."""
        out = Resolved(dict(given))
        for wave in self._waves(prompt, given):
            outcomes: list[tuple[ResolverSpec, Any, BaseException | None]] = []
            jobs: list[tuple[ResolverSpec, dict[str, Any], Hashable | None, Future[Any]]] = []
            for spec in wave:
                view, key, hit, value = self._lookup(spec, out.values)
                if hit:
                    outcomes.append((spec, value, None))
                elif len(wave) == 1 and spec.timeout_s is None and not spec.is_async:
                    outcomes.append(_call_inline(spec, view, key))  # no thread hop needed
                else:
                    jobs.append(
                        (spec, view, key, _shared_pool().submit(_call_blocking, spec, view))
                    )
            for spec, _view, key, future in jobs:
                try:
                    value = future.result(timeout=spec.timeout_s)
                except FutureTimeout:
                    outcomes.append((spec, None, TimeoutError(f"no value in {spec.timeout_s}s")))
                    continue
                except Exception as exc:
                    outcomes.append((spec, None, exc))
                    continue
                _store(spec, key, value)
                outcomes.append((spec, value, None))
            _apply(prompt, out, outcomes)
        return out

    async def resolve_async(self, prompt: Prompt, given: Mapping[str, Any]) -> Resolved:
        """Fill missing inputs on the running loop; sync resolvers run in the shared pool."""
        out = Resolved(dict(given))
        for wave in self._waves(prompt, given):
            results = await asyncio.gather(*(self._one_async(s, out.values) for s in wave))
            _apply(prompt, out, list(results))
        return out

    async def _one_async(
        self, spec: ResolverSpec, values: Mapping[str, Any]
    ) -> tuple[ResolverSpec, Any, BaseException | None]:
        view, key, hit, value = self._lookup(spec, values)
        if hit:
            return spec, value, None
        try:
            if spec.is_async:
                pending: Awaitable[Any] = _awaited(spec.fn(MappingProxyType(view)))
            else:
                loop = asyncio.get_running_loop()
                pending = _awaited(loop.run_in_executor(_shared_pool(), _call_plain, spec, view))
            value = await asyncio.wait_for(pending, spec.timeout_s)
        except TimeoutError:
            return spec, None, TimeoutError(f"no value in {spec.timeout_s}s")
        except Exception as exc:
            return spec, None, exc
        _store(spec, key, value)
        return spec, value, None

    @staticmethod
    def _lookup(
        spec: ResolverSpec, values: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Hashable | None, bool, Any]:
        view = spec.view(values)
        if spec.cache is None:
            return view, None, False, None
        key = spec.key(view)
        if key is None:
            return view, None, False, None
        hit, value = spec.cache.get(key)
        return view, key, hit, value


async def _awaited(value: Any) -> Any:
    """Await a value that may be awaitable (a sync resolver may return a coroutine)."""
    while inspect.isawaitable(value):
        value = await value
    return value


def _call_plain(spec: ResolverSpec, view: dict[str, Any]) -> Any:
    return spec.fn(MappingProxyType(view))


def _call_blocking(spec: ResolverSpec, view: dict[str, Any]) -> Any:
    """Run a resolver to its value on a pool thread (an async one on a fresh loop)."""
    value = spec.fn(MappingProxyType(view))
    if inspect.isawaitable(value):
        return asyncio.run(_awaited(value))
    return value


def _call_inline(
    spec: ResolverSpec, view: dict[str, Any], key: Hashable | None
) -> tuple[ResolverSpec, Any, BaseException | None]:
    try:
        value = spec.fn(MappingProxyType(view))
        if inspect.isawaitable(value):
            value = _call_awaitable(value)
    except Exception as exc:
        return spec, None, exc
    _store(spec, key, value)
    return spec, value, None


def _call_awaitable(awaitable: Awaitable[Any]) -> Any:
    """An awaitable from sync code: on a fresh loop, or on a pool thread when this thread
    already runs one (a loop cannot be nested)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(awaitable))
    return _shared_pool().submit(asyncio.run, _awaited(awaitable)).result()


def _store(spec: ResolverSpec, key: Hashable | None, value: Any) -> None:
    if spec.cache is not None and key is not None:
        spec.cache.put(key, value)


def _apply(
    prompt: Prompt,
    out: Resolved,
    outcomes: list[tuple[ResolverSpec, Any, BaseException | None]],
) -> None:
    """Merge one wave's outcomes, applying the degradation rules."""
    degraded = list(out.degraded)
    for spec, value, error in outcomes:
        if error is None:
            out.values[spec.name] = value
            continue
        cause = _describe(error)
        schema = prompt.inputs.get(spec.name, {})
        if spec.fallback is not NO_FALLBACK:
            out.values[spec.name] = spec.fallback
            degraded.append((spec.name, f"{cause}; used its fallback"))
        elif "default" in schema:
            degraded.append((spec.name, f"{cause}; used the input's default"))
        else:
            raise ContextError(
                f"prompt {prompt.id}: required input '{spec.name}' could not be resolved: {cause}",
                hint="give the resolver a fallback=, the input a default, or pass it in",
            ) from error
    out.degraded = tuple(degraded)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out ({error})" if str(error) else "timed out"
    text = str(error).splitlines()[0] if str(error) else ""
    return f"raised {type(error).__name__}" + (f": {text[:200]}" if text else "")
