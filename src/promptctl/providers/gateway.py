"""The one call path: cache/replay -> limits -> retry -> breaker -> fallback.

Every provider call of an evaluation or of the runtime goes through `Gateway.complete`.
It emits a `CallRecord` to `on_call` for each attempt outcome, so the ledger and the
evaluation report see retries, fallbacks and cache hits alike.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import random
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from promptctl.errors import ProviderError
from promptctl.providers import _http
from promptctl.providers.base import Adapter, Parsed, load_adapter, scrub
from promptctl.providers.breaker import Breakers
from promptctl.providers.cache import ResponseCache
from promptctl.providers.limits import SyncLimiter, limiter_for, sync_limiter_for
from promptctl.providers.pricing import Price, cost_usd, price_for
from promptctl.providers.recordings import MODES, Mode, RecordingStore
from promptctl.providers.retry import RetryPolicy, with_retries
from promptctl.providers.types import (
    CallContext,
    CallRecord,
    ChatRequest,
    ChatResponse,
    SkippedTarget,
    Usage,
)
from promptctl.spec.model import Project, ProviderSettings

__all__ = ["Gateway"]

T = TypeVar("T")
# Failures that say something about the target (not the request): they count towards
# opening its circuit.
_BREAKER_KINDS = frozenset(
    {"rate_limit", "overloaded", "server", "timeout", "network", "bad_response", "auth", "quota"}
)
# Failures another target cannot fix: raised at once instead of falling over.
_NO_FAILOVER = frozenset({"bad_request", "config"})


@dataclass(frozen=True)
class _Plan:
    request: ChatRequest
    settings: ProviderSettings
    adapter: Adapter
    api_key: str | None
    # the unset environment variable holding this target's key: the target is skipped
    missing_key: str | None = None


class Gateway:
    def __init__(
        self,
        project: Project,
        *,
        mode: Mode = "auto",
        use_cache: bool = True,
        env: Mapping[str, str] | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sync_sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        deadline_s: float = 600.0,
        retry_base_s: float = 0.5,
        breaker_threshold: int = 5,
        breaker_cooldown_s: float = 30.0,
    ) -> None:
        if mode not in MODES:
            raise ProviderError("config", f"unknown mode {mode!r}", hint="auto|record|replay|live")
        if env is None:
            env = os.environ
        self.project = project
        self.mode: Mode = mode
        self._env = env
        self._on_call = on_call
        self._sleep = sleep
        # complete_sync runs on the calling thread when it has a blocking sleep (always,
        # unless only an async `sleep` was injected: then on the private loop thread)
        if sync_sleep is None and sleep is asyncio.sleep:
            sync_sleep = time.sleep
        self._sync_sleep = sync_sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._deadline_s = deadline_s
        self._retry_base_s = retry_base_s
        self._breakers = Breakers(breaker_threshold, breaker_cooldown_s, clock)
        self._cache = ResponseCache(project.cache_path) if use_cache and mode != "live" else None
        self._recordings = RecordingStore(project.recordings_dir)
        # one pooled client per event loop, closed when `asyncio.run` ends its loop
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._clients_lock = threading.Lock()
        self._sync_client_: Any = None
        self._bg_loop: asyncio.AbstractEventLoop | None = None
        self._bg_thread: threading.Thread | None = None
        self._bg_lock = threading.Lock()
        # price_for scans the whole price table: memoised per (project, day, target)
        self._prices: tuple[Project, datetime.date, dict[str, Price | None]] | None = None

    # ---- public API -------------------------------------------------------------

    async def complete(
        self,
        request: ChatRequest,
        *,
        fallbacks: Sequence[ChatRequest] = (),
        repeat: int = 0,
        context: CallContext | None = None,
    ) -> ChatResponse:
        """Answer `request`, or the first fallback that can; raise ProviderError if none."""
        return await self._complete(request, fallbacks, repeat, context, blocking=False)

    def complete_sync(
        self,
        request: ChatRequest,
        *,
        fallbacks: Sequence[ChatRequest] = (),
        repeat: int = 0,
        context: CallContext | None = None,
    ) -> ChatResponse:
        """Blocking `complete` for sync callers, safe from any thread.

        Runs on the calling thread with a blocking HTTP client and thread-safe limits (the
        same steps, driven without an event loop: no thread hop); with an injected async-only
        `sleep` it runs on a private event-loop thread instead.
        """
        if self._sync_sleep is None:
            return self._run_bg(
                self.complete(request, fallbacks=fallbacks, repeat=repeat, context=context)
            )
        return _drive(self._complete(request, fallbacks, repeat, context, blocking=True))

    async def _complete(
        self,
        request: ChatRequest,
        fallbacks: Sequence[ChatRequest],
        repeat: int,
        context: CallContext | None,
        *,
        blocking: bool,
    ) -> ChatResponse:
        ctx = context or CallContext()
        # the key serves the cache, recordings and the ledger; a bare live call needs none
        needs_key = self._on_call is not None or self._cache is not None or self.mode != "live"
        key = request.cache_key(repeat=repeat) if needs_key else ""
        hit = self._lookup(request, key, ctx, repeat)
        if hit is not None:
            return hit
        plans = [self._plan(r) for r in (request, *fallbacks)]  # config errors before calls
        _check_some_key(plans)
        deadline = self._clock() + self._deadline_s  # one deadline for the whole chain
        skipped: list[SkippedTarget] = []
        last: ProviderError | None = None
        for plan in plans:
            target = plan.request.target
            if plan.missing_key is not None:  # never called, retried, nor held against it
                skipped.append(SkippedTarget(target, "config", f"{plan.missing_key} is not set"))
                continue
            breaker = self._breakers.get(target)
            origin = skipped[-1].target if skipped else None
            if not breaker.allow():
                last = ProviderError(
                    "circuit_open",
                    "skipped: circuit open after repeated failures",
                    provider=plan.settings.name,
                    model=plan.request.model,
                    hint=f"retried after {self._breakers.cooldown_s:g} s",
                )
                skipped.append(SkippedTarget(target, "circuit_open", last.message))
                self._emit(ctx, target, "error", key, error_kind="circuit_open", origin=origin)
                continue
            try:
                parsed, attempts, latency = await self._call(
                    plan, ctx, key, origin, deadline, blocking
                )
            except ProviderError as exc:
                if exc.kind in _BREAKER_KINDS:
                    breaker.record_failure()
                else:
                    breaker.record_success()  # the target answered; the request was at fault
                if exc.kind in _NO_FAILOVER:
                    raise
                skipped.append(SkippedTarget(target, exc.kind, exc.message))
                last = exc
                continue
            breaker.record_success()
            response = self._response(plan, parsed, attempts, latency, skipped)
            self._emit(ctx, target, "ok", key, response=response, origin=origin)
            self._store(request, key, repeat, response)
            return response
        assert last is not None  # _check_some_key: some target was called
        if len(skipped) == 1:
            raise last
        raise ProviderError(
            last.kind,
            "all targets failed: " + "; ".join(s.message for s in skipped),
            status=last.status,
            hint=last.hint,
        )

    async def aclose(self) -> None:
        with self._clients_lock:
            entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.closer.aclose()  # closes the client
        if self._cache is not None:
            self._cache.close()

    @property
    def open_clients(self) -> int:
        """How many pooled async clients are open (one per live event loop that called)."""
        return len(self._clients)

    def close(self) -> None:
        """Close the connections of `complete_sync` (and its private loop, if it has one)."""
        with self._bg_lock:
            loop, thread = self._bg_loop, self._bg_thread
            self._bg_loop = self._bg_thread = None
            sync_client, self._sync_client_ = self._sync_client_, None
        if sync_client is not None:
            sync_client.close()
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    # ---- steps ----------------------------------------------------------------

    def _lookup(
        self, request: ChatRequest, key: str, ctx: CallContext, repeat: int
    ) -> ChatResponse | None:
        if self.mode in ("live", "record"):
            return None
        hit = self._recordings.load(key)
        if hit is None and self.mode == "replay":
            where = f"prompt {ctx.prompt_id or '?'}, test {ctx.test or '?'!r}, repeat {repeat}"
            raise ProviderError(
                "replay_missing",
                f"no recording for {request.target} ({where}): {self._recordings.path_for(key)}",
                provider=request.provider,
                model=request.model,
                hint="run once with --mode record (needs the API key) and commit evals/recordings",
            )
        if hit is None and self._cache is not None:
            hit = self._cache.get(key)
        if hit is None:
            return None
        self._emit(ctx, hit.target, "cached", key, response=hit, cost=0.0)
        return replace(hit, cached=True)

    def _store(self, request: ChatRequest, key: str, repeat: int, response: ChatResponse) -> None:
        if self.mode == "record":
            self._recordings.save(key, request, repeat, response)
        if self._cache is not None:
            self._cache.put(key, response)

    def _plan(self, request: ChatRequest) -> _Plan:
        """Settings, adapter and key of a target; an unset key marks it to be skipped."""
        settings = self.project.providers.get(request.provider)
        if settings is None:
            raise ProviderError(
                "config",
                f"unknown provider {request.provider!r} in {request.target!r}",
                hint="configure it under providers: in promptctl.yaml",
            )
        adapter = load_adapter(settings.kind)
        api_key: str | None = None
        if settings.api_key_env:
            api_key = self._env.get(settings.api_key_env) or None
            if api_key is None:
                return _Plan(request, settings, adapter, None, settings.api_key_env)
        elif adapter.needs_key:
            raise ProviderError(
                "config",
                "no api_key_env configured",
                provider=settings.name,
                hint=f"set providers.{settings.name}.api_key_env in promptctl.yaml",
            )
        return _Plan(request, settings, adapter, api_key)

    async def _call(
        self,
        plan: _Plan,
        ctx: CallContext,
        key: str,
        origin: str | None,
        deadline: float,
        blocking: bool,
    ) -> tuple[Parsed, int, float]:
        settings, request = plan.settings, plan.request
        wire = plan.adapter.build_request(request, settings, plan.api_key)
        content = json.dumps(wire.body, separators=(",", ":"), ensure_ascii=False).encode()
        client: Any
        limiter: Any
        sleep: Callable[[float], Awaitable[None]]
        if blocking:
            assert self._sync_sleep is not None
            client = _BlockingPost(self._sync_client())
            limiter = _BlockingSlot(
                sync_limiter_for(settings, clock=self._clock, sleep=self._sync_sleep)
            )
            sleep = _BlockingSleep(self._sync_sleep)
        else:
            client = await self._client()
            limiter = limiter_for(settings, clock=self._clock, sleep=self._sleep)
            sleep = self._sleep
        secrets = (plan.api_key,) if plan.api_key else ()
        latency = 0.0

        async def attempt(_: int) -> Parsed:
            nonlocal latency
            async with limiter.slot():
                started = time.perf_counter()
                try:
                    resp = await client.post(
                        wire.url, headers=wire.headers, content=content, timeout=settings.timeout_s
                    )
                    body = resp.content
                except _http.TimeoutError_:
                    raise self._tag(
                        ProviderError("timeout", f"no response within {settings.timeout_s}s"),
                        request,
                        secrets,
                    ) from None
                except _http.TransportError as exc:
                    msg = f"{type(exc).__name__}: {exc}"
                    raise self._tag(ProviderError("network", msg), request, secrets) from None
                latency = (time.perf_counter() - started) * 1000.0
            try:
                return plan.adapter.parse_response(resp.status_code, resp.headers, body)
            except ProviderError as exc:
                raise self._tag(exc, request, secrets) from None

        def on_error(exc: ProviderError, _: int) -> None:
            self._emit(ctx, request.target, "error", key, error_kind=exc.kind, origin=origin)

        policy = RetryPolicy(max_retries=settings.max_retries, base_s=self._retry_base_s)
        parsed, attempts = await with_retries(
            attempt,
            policy=policy,
            sleep=sleep,
            rng=self._rng,
            clock=self._clock,
            deadline=deadline,
            on_error=on_error,
        )
        return parsed, attempts, latency

    def _response(
        self,
        plan: _Plan,
        parsed: Parsed,
        attempts: int,
        latency: float,
        skipped: list[SkippedTarget],
    ) -> ChatResponse:
        target = plan.request.target
        price = None
        if parsed.model_reported:
            price = self._price(f"{plan.settings.name}/{parsed.model_reported}")
        if price is None:
            price = self._price(target)
        return ChatResponse(
            text=parsed.text,
            target=target,
            finish_reason=parsed.finish_reason,
            usage=parsed.usage,
            model_reported=parsed.model_reported,
            latency_ms=latency,
            request_id=parsed.request_id,
            cost_usd=cost_usd(parsed.usage, price, target=target),
            attempts=attempts,
            fallbacks_tried=tuple(skipped),
        )

    # ---- plumbing -------------------------------------------------------------

    def _price(self, target: str) -> Price | None:
        project, day = self.project, datetime.date.today()
        memo = self._prices
        if memo is None or memo[0] is not project or memo[1] != day:
            memo = self._prices = (project, day, {})
        table = memo[2]
        if target not in table:
            table[target] = price_for(target, project, day)
        return table[target]

    @staticmethod
    def _tag(exc: ProviderError, request: ChatRequest, secrets: tuple[str, ...]) -> ProviderError:
        """Re-raise an adapter's error with the target named and secrets scrubbed."""
        raw = exc.message.removeprefix(f"{exc.kind}: ")
        return ProviderError(
            exc.kind,
            scrub(raw, secrets),
            provider=request.provider,
            model=request.model,
            status=exc.status,
            retry_after_s=exc.retry_after_s,
            hint=exc.hint,
        )

    def _emit(
        self,
        ctx: CallContext,
        target: str,
        outcome: Literal["ok", "cached", "error"],
        key: str,
        *,
        response: ChatResponse | None = None,
        error_kind: str | None = None,
        origin: str | None = None,
        cost: float | None = None,
    ) -> None:
        if self._on_call is None:
            return
        self._on_call(
            CallRecord(
                timestamp=time.time(),
                context=ctx,
                target=target,
                model_reported=response.model_reported if response else "",
                outcome=outcome,
                usage=response.usage if response else Usage(),
                cost_usd=cost if cost is not None else (response.cost_usd if response else None),
                latency_ms=response.latency_ms if response else 0.0,
                error_kind=error_kind,
                fallback_from=origin,
                request_hash=key,
            )
        )

    def _pool_size(self) -> int:
        return max(16, sum(s.max_concurrency for s in self.project.providers.values()))

    async def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is not None:
            return entry.client
        client = _http.new_client(self._pool_size())
        closer = _close_at_loop_exit(self._clients, self._clients_lock, client)
        await closer.__anext__()  # now tracked by the loop: asyncio.run closes it at exit
        with self._clients_lock:  # loops of other threads add and drop clients too
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]  # a loop closed without shutdown_asyncgens
            self._clients[loop] = _LoopClient(client, closer)
        return client

    def _sync_client(self) -> Any:
        client = self._sync_client_
        if client is None:
            with self._bg_lock:
                if self._sync_client_ is None:
                    self._sync_client_ = _http.new_sync_client(self._pool_size())
                client = self._sync_client_
        return client

    def _run_bg(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._bg_lock:
            if self._bg_loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="promptctl-gateway", daemon=True
                )
                thread.start()
                self._bg_loop, self._bg_thread = loop, thread
            loop = self._bg_loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()


def _check_some_key(plans: Sequence[_Plan]) -> None:
    """Fail before any call when no target of the chain has its API key set.

    One unset variable keeps the familiar "X is not set"; several are named together
    with the targets needing them, so the user sees every way to make the chain work.
    """
    if any(plan.missing_key is None for plan in plans):
        return
    needed: dict[str, list[str]] = {}
    for plan in plans:
        assert plan.missing_key is not None
        targets = needed.setdefault(plan.missing_key, [])
        if plan.request.target not in targets:
            targets.append(plan.request.target)
    first = plans[0].settings
    if len(needed) == 1:
        ((var, targets),) = needed.items()
        raise ProviderError(
            "config",
            f"{var} is not set ({', '.join(targets)})",
            provider=first.name,
            hint=f"export {var}=<your {first.name} API key>",
        )
    choices = " or ".join(f"{var} ({', '.join(t)})" for var, t in needed.items())
    raise ProviderError(
        "config",
        f"no target has its API key: set {choices}",
        hint="export one of these variables",
    )


@dataclass(frozen=True)
class _LoopClient:
    client: Any
    closer: AsyncGenerator[None, None]


async def _close_at_loop_exit(
    clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient],
    lock: threading.Lock,
    client: Any,
) -> AsyncGenerator[None, None]:
    """Parked at its yield; the loop's `shutdown_asyncgens` (run by `asyncio.run` before it
    closes the loop) resumes it, so the client's connections close on their own loop."""
    try:
        yield
    finally:
        loop = asyncio.get_running_loop()
        with lock:
            entry = clients.get(loop)
            if entry is not None and entry.client is client:
                del clients[loop]
        await client.aclose()


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the blocking path) to its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("the blocking gateway path suspended")  # a bug, not a user error


class _BlockingPost:
    """`await client.post(...)` over a blocking client: it never suspends."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def post(self, url: str, **kwargs: Any) -> Any:
        return self._client.post(url, **kwargs)


class _BlockingSlot:
    def __init__(self, limiter: SyncLimiter) -> None:
        self._limiter = limiter

    def slot(self) -> _BlockingSlot:
        return self

    async def __aenter__(self) -> None:
        self._limiter.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._limiter.release()


class _BlockingSleep:
    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep

    async def __call__(self, seconds: float) -> None:
        self._sleep(seconds)
