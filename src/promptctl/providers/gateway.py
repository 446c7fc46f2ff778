"""The one call path: cache/replay -> limits -> retry -> breaker -> fallback.

Every provider call of an evaluation or of the runtime goes through `Gateway.complete`.
It emits a `CallRecord` to `on_call` for each attempt outcome, so the ledger and the
evaluation report see retries, fallbacks and cache hits alike.

This module orchestrates; the parts live beside it: `chain` (the target chain and missing
keys), `attempt` (one target's HTTP call with retries), `answer_cost` (prices and what an
answer costs), `call_log` (the records to `on_call`), `clients` (connection lifetime)
and `blocking` (running the same path without an event loop for `complete_sync`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.context_windows import context_window
from promptctl.promptfile.model import Project
from promptctl.providers.answer_cost import AnswerCosts
from promptctl.providers.breaker import BreakerEvent, Breakers, wait_for_trial
from promptctl.providers.cache import ResponseCache
from promptctl.providers.call_log import CallLog
from promptctl.providers.clients import ClientPool
from promptctl.providers.recordings import MODES, Mode, RecordingStore
from promptctl.providers.redact import Redactor, secrets_from_env
from promptctl.providers.types import (
    CallContext,
    CallRecord,
    ChatResponse,
    PendingKey,
    SkippedTarget,
)

if TYPE_CHECKING:
    # names for annotations only: the call path (chain, attempt, limits, retry, pricing,
    # blocking) is imported by the first call the cache and recordings cannot answer, so a
    # fully cached run loads none of it; embeddings and shared state where they are used
    from promptctl.promptfile.model import ProviderSettings
    from promptctl.providers.base import Parsed, WireRequest
    from promptctl.providers.chain import Admitted, ChainWalk, TargetPlan
    from promptctl.providers.embed_chain import EmbedChain
    from promptctl.providers.embeddings import EmbedResult
    from promptctl.providers.shared_cache import SharedResponseCache
    from promptctl.providers.shared_state import SharedState
    from promptctl.providers.streaming import StreamItem

__all__ = ["Gateway"]

T = TypeVar("T")

log = logging.getLogger(__name__)


class Gateway:
    """One project's provider calls, async (`complete`) or blocking (`complete_sync`)."""

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
        deadline_s: float | None = None,
        retry_base_s: float = 0.5,
        breaker_threshold: int = 5,
        breaker_cooldown_s: float = 30.0,
        shared_state: SharedState | None = None,
        probe_wait: bool = False,
        on_call_blocks: bool = False,
        answered: Mapping[str, ChatResponse] | None = None,
        cache_write_batch: int = 1,
        call_cap: int | None = None,
        commit_window_s: float = 0.0,
    ) -> None:
        """`shared_state`: the fleet's limits, pauses and breakers (docs/deployment.md).

        `call_cap`: at most this many async calls in flight, all providers together (an
        evaluation's `--concurrency`, when it runs more cases than that at once:
        `limits.CappedLimiter`); each provider's own limit applies as well.

        `commit_window_s`: how long an answer read on an event loop waits for others to
        share its ledger commit (0: those of the same loop turn); it is handed to its
        caller only once committed (`answer_records`). An evaluation, whose freed call
        slots go to waiting cases, waits a few milliseconds; a service does not.

        `cache_write_batch`: answers stored per cache transaction (`ResponseCache`); an
        evaluation batches them (written at the latest by `aclose`), and reads the cache's
        keys once (`key_snapshot`); a service does neither.
        """
        if mode not in MODES:
            raise ProviderError("config", f"unknown mode {mode!r}", hint="auto|record|replay|live")
        if env is None:
            env = os.environ
        self.project = project
        self.mode: Mode = mode
        self._env = env
        # `on_call` may wait on a disk (a ledger committing each paid call): from an event
        # loop it is then called on a worker thread for answers, so the loop never waits
        self.calls = CallLog(on_call, blocks=on_call_blocks, commit_window_s=commit_window_s)
        self.costs = AnswerCosts()
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
        self._shared = shared_state
        self._breakers = Breakers(breaker_threshold, breaker_cooldown_s, clock, shared_state)
        self._call_slots = call_cap
        self._call_cap: Any = None  # the `limits.CallCap`, made with the call path
        # evaluations: a call finding the circuit open waits for the trial call in flight
        # (with cool-down 0, the next call after an opening is that trial) instead of failing
        self._probe_wait = probe_wait
        self._cache: ResponseCache | SharedResponseCache | None = None
        if use_cache and mode != "live":
            self._cache = ResponseCache(  # an evaluation's: batched, keys read once
                project.cache_path,
                write_batch=cache_write_batch,
                key_snapshot=cache_write_batch > 1,
            )
            if shared_state is not None:  # shards and runners reuse one another's answers
                from promptctl.providers.shared_cache import SharedResponseCache

                self._cache = SharedResponseCache(self._cache, shared_state)
        self._recordings = RecordingStore(project.recordings_dir)
        pool_size = max(16, sum(s.max_concurrency for s in project.providers.values()))
        self._pool = ClientPool(pool_size)
        # targets whose provider said the model is retired: skipped from then on
        self._retired: dict[str, ProviderError] = {}
        self._retired_for = project  # a new project (runtime reload) forgets them
        # answers already paid for elsewhere (a batch), by cache key: each is handed out
        # once as that call's own answer (ledger "ok" at its price), later reads hit the cache
        self._answered = dict(answered or {})
        self._redactor_memo: tuple[Project, Redactor] | None = None
        self._embed_chain: EmbedChain | None = None

    @property
    def redactor(self) -> Redactor:
        """Scrubs the key values of every configured provider (see providers/redact.py)."""
        memo = self._redactor_memo
        if memo is None or memo[0] is not self.project:  # `reload()` swaps the project
            secrets = secrets_from_env(self.project.providers.values(), self._env)
            memo = self._redactor_memo = (self.project, Redactor(secrets))
        return memo[1]

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
            return self._pool.run_bg(
                self.complete(request, fallbacks=fallbacks, repeat=repeat, context=context)
            )
        from promptctl.providers.blocking import drive

        return drive(self._complete(request, fallbacks, repeat, context, blocking=True))

    def stream(
        self,
        request: ChatRequest,
        *,
        fallbacks: Sequence[ChatRequest] = (),
        repeat: int = 0,
        context: CallContext | None = None,
        first_token_s: float | None = None,
    ) -> AsyncIterator[StreamItem]:
        """`complete`, streamed: text deltas, then the `ChatResponse` (providers/streaming.py).

        Failover happens only before the first token (`first_token_s`: a deadline for it);
        after it a broken stream raises `StreamInterrupted`.
        """
        from promptctl.providers.streaming import stream_chain

        return stream_chain(
            self, request, fallbacks, repeat, context, first_token_s=first_token_s, blocking=False
        )

    def stream_sync(
        self,
        request: ChatRequest,
        *,
        fallbacks: Sequence[ChatRequest] = (),
        repeat: int = 0,
        context: CallContext | None = None,
        first_token_s: float | None = None,
    ) -> Iterator[StreamItem]:
        """Blocking `stream`: on the calling thread, or (with a first-token deadline, which
        must interrupt a read, or an async-only `sleep`) on the private loop thread."""
        from promptctl.providers.blocking import drive_iter, loop_iter
        from promptctl.providers.streaming import stream_chain

        on_loop = self._sync_sleep is None or first_token_s is not None
        agen = stream_chain(
            self, request, fallbacks, repeat, context, first_token_s=first_token_s,
            blocking=not on_loop,
        )  # fmt: skip
        return loop_iter(agen, self._pool.run_bg) if on_loop else drive_iter(agen)

    async def embed(
        self,
        texts: str | Sequence[str],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        dimensions: int | None = None,
        task_type: str | None = None,
        context: CallContext | None = None,
    ) -> EmbedResult:
        """Embed `texts` with `model` (`provider/model`), or the first fallback of the same
        dimension; batched, retried and recorded like chat calls (providers/embed_chain.py)."""
        from promptctl.providers.embed_chain import embed_request  # not for chat calls

        request = embed_request(texts, model, dimensions, task_type)
        return await self._embedder().run(request, fallbacks, context, blocking=False)

    def embed_sync(
        self,
        texts: str | Sequence[str],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        dimensions: int | None = None,
        task_type: str | None = None,
        context: CallContext | None = None,
    ) -> EmbedResult:
        """Blocking `embed`, safe from any thread (as `complete_sync`)."""
        from promptctl.providers.embed_chain import embed_request

        request = embed_request(texts, model, dimensions, task_type)
        if self._sync_sleep is None:
            return self._pool.run_bg(
                self._embedder().run(request, fallbacks, context, blocking=False)
            )
        from promptctl.providers.blocking import drive

        return drive(self._embedder().run(request, fallbacks, context, blocking=True))

    def _embedder(self) -> EmbedChain:
        if self._embed_chain is None:
            from promptctl.providers.embed_chain import EmbedChain

            self._embed_chain = EmbedChain(self)
        return self._embed_chain

    def has_answer(self, request: ChatRequest, *, repeat: int = 0) -> bool:
        """Whether `complete(request, repeat=...)` would answer from recordings or the cache.

        The same rules as the lookup `complete` does first (`live` and `record` never reuse
        an answer), but nothing is loaded and no `CallRecord` is emitted: the runner asks
        this to hold budget only for cases that will really call a provider.
        """
        if self.mode in ("live", "record"):
            return False
        key = request.cache_key(repeat=repeat)
        if self._recordings.has(key):
            return True
        return self.mode != "replay" and self._cache is not None and self._cache.has(key)

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
        # the key serves the cache and recordings; for `on_call` alone it is hashed when
        # the record's `request_hash` is read (a ledger reads it, a tracer does not)
        needs_key = self._cache is not None or self.mode != "live"
        key = request.cache_key(repeat=repeat) if needs_key else PendingKey(request, repeat)
        hit = self._lookup(request, key, ctx, repeat)
        if hit is not None:
            return hit
        from promptctl.providers.chain import ChainWalk, check_some_key, distinct_targets, plan

        # config errors before calls
        plans = [plan(self.project, self._env, r) for r in distinct_targets(request, fallbacks)]
        check_some_key(plans)
        # one deadline for the whole chain, the first target's provider's unless overridden
        deadline_s = self._deadline_s
        if deadline_s is None:
            deadline_s = plans[0].settings.deadline_s
        deadline = self._clock() + deadline_s
        started = time.perf_counter()  # latency_ms: the whole chain, as the caller waits
        walk = ChainWalk()
        for target_plan in plans:
            admitted = await self._admit(target_plan, walk, ctx, key, deadline, blocking)
            if admitted is None:
                continue
            try:
                parsed, attempts, latency = await self._call(
                    target_plan, ctx, key, admitted.origin, deadline, blocking
                )
            except ProviderError as exc:
                self._failed(
                    target_plan, exc, admitted, walk, has_next=target_plan is not plans[-1]
                )
                continue
            except BaseException:
                admitted.abandon()
                raise
            admitted.breaker.record_success()
            self._spend_tokens(target_plan, parsed)
            total = (time.perf_counter() - started) * 1000.0
            response = self._response(target_plan, parsed, attempts, latency, total, walk.skipped)
            target = target_plan.request.target
            await self.calls.answer(ctx, target, key, response, admitted.origin, blocking)
            self._store(request, key, repeat, response)
            return response
        raise walk.error()

    async def _admit(
        self,
        target_plan: TargetPlan,
        walk: ChainWalk,
        ctx: CallContext,
        key: str,
        deadline: float,
        blocking: bool,
    ) -> Admitted | None:
        """Whether the chain calls this target (and how), or passes over it: a window no
        larger than one the prompt overflowed, an unset key, a retired model, an open
        circuit; a target passed over is recorded in `walk` (and in the ledger)."""
        target = target_plan.request.target
        window = context_window(target)
        too_long_for = walk.too_long_for
        if too_long_for is not None and window is not None and window <= too_long_for:
            msg = f"window {_k(window)} is not larger than {_k(too_long_for)}"
            walk.skipped.append(SkippedTarget(target, "context_length", msg))
            return None
        if target_plan.missing_key is not None:  # never called, retried, nor held against it
            msg = f"{target_plan.missing_key} is not set"
            walk.skipped.append(SkippedTarget(target, "config", msg))
            return None
        breaker = self._breakers.get(target)
        origin = walk.skipped[-1].target if walk.skipped else None
        if self._retired_for is not self.project:
            self._retired, self._retired_for = {}, self.project
        if target in self._retired:
            walk.last = self._retired[target]
            walk.skipped.append(SkippedTarget(target, "model_retired", walk.last.message))
            self.calls.emit(ctx, target, "error", key, error_kind="model_retired", origin=origin)
            return None
        admission = breaker.admit()
        if admission is None and self._probe_wait:
            admission = await wait_for_trial(
                breaker, deadline=deadline, clock=self._clock, blocking=blocking
            )
        if admission is None:
            cooldown = self._breakers.cooldown_s
            walk.last = ProviderError(
                "circuit_open",
                "skipped: circuit open after repeated failures",
                provider=target_plan.settings.name,
                model=target_plan.request.model,
                hint=f"retried after {cooldown:g} s" if cooldown else "the next call retries",
            )
            walk.skipped.append(SkippedTarget(target, "circuit_open", walk.last.message))
            self.calls.emit(ctx, target, "error", key, error_kind="circuit_open", origin=origin)
            return None
        from promptctl.providers.chain import Admitted

        return Admitted(breaker, admission, origin, window)

    def _failed(
        self,
        target_plan: TargetPlan,
        exc: ProviderError,
        admitted: Admitted,
        walk: ChainWalk,
        *,
        has_next: bool,
    ) -> None:
        """A called target failed: count it against its circuit (unless the request was
        at fault), raise when no other target can do better, else record it in `walk`."""
        from promptctl.providers.chain import BREAKER_KINDS, NO_FAILOVER

        if exc.kind in BREAKER_KINDS:
            admitted.breaker.record_failure(trial=admitted.admission == "trial")
        else:  # the target answered; the request was at fault
            admitted.breaker.record_success()
        if exc.kind in NO_FAILOVER:
            raise exc
        target = target_plan.request.target
        if exc.kind == "model_retired":
            exc = self._retire(target, exc, has_next=has_next)
        if exc.kind == "context_length" and admitted.window is not None:
            walk.too_long_for = max(admitted.window, walk.too_long_for or 0)
        walk.skipped.append(SkippedTarget(target, exc.kind, exc.message))
        walk.last = exc

    def _spend_tokens(self, target_plan: TargetPlan, parsed: Parsed) -> None:
        """With shared state and a `tpm` limit: the answer's tokens count for the fleet."""
        if self._shared is not None and target_plan.settings.tpm:
            used = parsed.usage.input_tokens + parsed.usage.output_tokens
            self._shared.spend(target_plan.settings.name, target_plan.settings.tpm, used)

    def breaker_history(self) -> list[BreakerEvent]:
        """Every time a circuit opened in this gateway (for a run's report)."""
        return self._breakers.history()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        pending = self.calls.answers.pending if self.calls.answers is not None else ()
        writes = [w for w in pending if w.get_loop() is loop]
        if writes:  # answers of cancelled callers still on their way to the ledger
            await asyncio.gather(*writes, return_exceptions=True)
        await self._pool.aclose()
        if self._cache is not None:
            self._cache.close()

    @property
    def open_clients(self) -> int:
        """How many pooled async clients are open (one per live event loop that called)."""
        return self._pool.open_clients

    def close(self) -> None:
        """Close the connections of `complete_sync` (and its private loop, if it has one)."""
        self._pool.close(self.aclose)

    # ---- steps ----------------------------------------------------------------

    def _lookup(
        self, request: ChatRequest, key: str, ctx: CallContext, repeat: int
    ) -> ChatResponse | None:
        if self.mode in ("live", "record"):
            return None
        paid = self._answered.pop(key, None) if self._answered else None
        if paid is not None:
            self.calls.emit(ctx, paid.target, "ok", key, response=paid)
            return replace(paid, cached=True)  # not timed live: kept out of latency figures
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
        self.calls.emit(ctx, hit.target, "cached", key, response=hit, cost=0.0, saved=hit.cost_usd)
        return hit if hit.cached else replace(hit, cached=True)  # the cache's are marked

    def _store(self, request: ChatRequest, key: str, repeat: int, response: ChatResponse) -> None:
        redact = self.redactor.known  # the answer is clean already; inputs may hold a key
        if self.mode == "record":
            self._recordings.save(key, request, repeat, response, redact=redact)
        if self._cache is not None:
            self._cache.put(key, response, redact=redact)

    async def _call(
        self,
        target_plan: TargetPlan,
        ctx: CallContext,
        key: str,
        origin: str | None,
        deadline: float,
        blocking: bool,
    ) -> tuple[Parsed, int, float]:
        from promptctl.providers.attempt import chat_job

        wire, parse = chat_job(target_plan)
        return await self._call_wire(target_plan, wire, parse, ctx, key, origin, deadline, blocking)

    def _limiter(self, settings: ProviderSettings) -> Any:
        """The async limiter of a call to `settings`' provider, under `call_cap` if set."""
        from promptctl.providers.limits import CallCap, CappedLimiter, limiter_for

        limiter = limiter_for(settings, clock=self._clock, sleep=self._sleep, shared=self._shared)
        if self._call_slots is None:
            return limiter
        if self._call_cap is None:
            self._call_cap = CallCap(self._call_slots)
        return CappedLimiter(limiter, self._call_cap)

    async def _call_wire(
        self,
        target_plan: TargetPlan,
        wire: WireRequest,
        parse: Callable[[int, Any, bytes], T],
        ctx: CallContext,
        key: str,
        origin: str | None,
        deadline: float,
        blocking: bool,
    ) -> tuple[T, int, float]:
        """One target's HTTP call under its limits, retried; errors go to the ledger."""
        from promptctl.providers.attempt import call_wire
        from promptctl.providers.blocking import BlockingPost, BlockingSleep, BlockingSlot
        from promptctl.providers.limits import sync_limiter_for
        from promptctl.providers.retry import RetryPolicy

        settings = target_plan.settings
        client: Any
        limiter: Any
        sleep: Callable[[float], Awaitable[None]]
        if blocking:
            assert self._sync_sleep is not None
            client = BlockingPost(self._pool.sync_client())
            limiter = BlockingSlot(
                sync_limiter_for(
                    settings, clock=self._clock, sleep=self._sync_sleep, shared=self._shared
                )
            )
            sleep = BlockingSleep(self._sync_sleep)
        else:
            client = await self._pool.client()
            limiter = self._limiter(settings)
            sleep = self._sleep
        target = target_plan.request.target

        def on_error(exc: ProviderError, _: int) -> None:
            if self._shared is not None and exc.retry_after_s:  # one 429 slows the fleet
                self._shared.pause(settings.name, exc.retry_after_s)
            self.calls.emit(ctx, target, "error", key, error_kind=exc.kind, origin=origin)

        def on_cancel() -> None:  # sent, maybe billed, never answered: cost unknown
            self.calls.emit(ctx, target, "error", key, error_kind="cancelled", origin=origin)

        return await call_wire(
            target_plan,
            wire,
            parse,
            client=client,
            limiter=limiter,
            sleep=sleep,
            policy=RetryPolicy(max_retries=settings.max_retries, base_s=self._retry_base_s),
            rng=self._rng,
            clock=self._clock,
            deadline=deadline,
            on_error=on_error,
            on_cancel=on_cancel,
            redactor=self.redactor,
        )

    def _response(
        self,
        target_plan: TargetPlan,
        parsed: Parsed,
        attempts: int,
        latency: float,
        total: float,
        skipped: list[SkippedTarget],
    ) -> ChatResponse:
        from promptctl.providers.tool_calls import check_tool_calls

        cost = self.costs.cost(
            self.project, target_plan, parsed.usage, parsed.usage_known, parsed.model_reported,
            reported=parsed.reported_cost_usd,
        )  # fmt: skip
        return ChatResponse(
            text=parsed.text,
            target=target_plan.request.target,
            finish_reason=parsed.finish_reason,
            usage=parsed.usage,
            model_reported=parsed.model_reported,
            latency_ms=max(total, latency),
            attempt_latency_ms=latency,
            request_id=parsed.request_id,
            cost_usd=cost,
            attempts=attempts,
            fallbacks_tried=tuple(skipped),
            usage_known=parsed.usage_known,
            tool_calls=check_tool_calls(target_plan.request.tools, parsed.tool_calls),
        )

    def _retire(self, target: str, exc: ProviderError, *, has_next: bool) -> ProviderError:
        """Remember a retired target (never called again by this gateway) and say so once."""
        from promptctl.providers.lifecycle import lifecycle_for

        row = lifecycle_for(target, self.project)
        fix = f"switch to {row.replacement}" if row and row.replacement else None
        hint = (fix or "switch to an active model") + " (`promptctl models` lists lifecycles)"
        retired = ProviderError(
            "model_retired",
            exc.message.removeprefix(f"{target}: model_retired: "),
            provider=exc.provider,
            model=exc.model,
            status=exc.status,
            hint=hint,
        )
        self._retired[target] = retired
        then = "failing over at once, no retries" if has_next else "no fallback left"
        log.warning(
            "%s: the provider says the model is retired or unknown (%s); %s", target, hint, then
        )
        return retired


def _k(tokens: int) -> str:
    """A context window in thousands of tokens, as people say it: 128k, 1048k."""
    return f"{round(tokens / 1000)}k"
