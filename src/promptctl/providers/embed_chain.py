"""Embedding calls through the Gateway's machinery: limits, retries, breakers, fallback, ledger.

Why a module of its own: the chat chain (gateway.py) is about prompts, caches and
context windows; an embedding call is simpler but has two rules of its own. One call's
vectors all come from one target (batches are cut per provider limits, and if a target
fails part-way, the next one embeds every text again), and a fallback is only taken to
a target of the same dimension (see providers/embeddings.py for how it is known).
It uses the Gateway's parts (package-internal): `_call_wire` for each HTTP request
(limiter slot, retries, error rows), its breakers, prices and `on_call`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import replace
from typing import TYPE_CHECKING

from promptctl.errors import ProviderError, UsageError
from promptctl.plan.request import ChatRequest
from promptctl.providers.breaker import wait_for_trial
from promptctl.providers.chain import (
    BREAKER_KINDS,
    NO_FAILOVER,
    TargetPlan,
    chain_error,
    check_some_key,
    plan,
)
from promptctl.providers.embeddings import (
    TASK_TYPES,
    EmbedParsed,
    EmbedRequest,
    EmbedResult,
    batches,
    embed_wire,
    native_dimension,
)
from promptctl.providers.types import CallContext, CallRecord, SkippedTarget, Usage

if TYPE_CHECKING:
    from promptctl.providers.gateway import Gateway

__all__ = ["EmbedChain", "embed_request"]


def embed_request(
    texts: str | Sequence[str],
    model: str,
    dimensions: int | None,
    task_type: str | None = None,
) -> EmbedRequest:
    """Check the caller's arguments (a clear UsageError, never a provider's 400)."""
    if isinstance(texts, str):
        texts = [texts]
    provider, sep, name = model.partition("/")
    if not sep or not provider or not name:
        raise UsageError(
            f"embedding model {model!r} is not provider/model",
            hint="write e.g. openai/text-embedding-3-small",
        )
    if isinstance(texts, bytes | bytearray | Mapping | Set):
        # iterated, these give ints, a mapping's keys, or texts in no order
        raise UsageError(
            f"texts is a {type(texts).__name__}: pass a string or a list of strings",
            hint="vectors come back in the order of the list",
        )
    items = tuple(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise UsageError(f"text {i} is a {type(text).__name__}, not a string")
        if not text.strip():
            raise UsageError(
                f"text {i} is empty: embedding APIs reject empty inputs",
                hint="drop empty texts before embedding",
            )
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise UsageError(f"dimensions={dimensions!r} is not a positive integer")
    if task_type is not None and task_type not in TASK_TYPES:
        raise UsageError(
            f"task_type={task_type!r} is not one of Gemini's task types",
            hint="one of " + ", ".join(TASK_TYPES),
        )
    return EmbedRequest(provider, name, items, dimensions, task_type)


class EmbedChain:
    """One gateway's embedding calls; remembers each target's answered dimension."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway
        self._dims: dict[str, int] = {}

    def dimension(self, target: str, asked: int | None) -> int | None:
        """The size of `target`'s vectors for a call asking `asked` (None: unknown)."""
        native = native_dimension(target.partition("/")[2])
        if asked is not None:
            return native[0] if native is not None and not native[1] else asked
        known = self._dims.get(target)
        return known if known is not None else (native[0] if native else None)

    async def run(
        self,
        request: EmbedRequest,
        fallbacks: Sequence[str],
        context: CallContext | None,
        *,
        blocking: bool,
    ) -> EmbedResult:
        gw = self._gw
        if gw.mode == "replay":
            raise ProviderError(
                "replay_missing",
                f"embeddings are not recorded: replay mode cannot embed with {request.target}",
                hint="embed in live or auto mode",
            )
        ctx = replace(context or CallContext(source="runtime"), operation="embed")
        if not request.texts:
            return EmbedResult([], request.target, request.dimensions or 0, Usage(), 0.0, 0.0)
        targets = [request.target]
        if isinstance(fallbacks, str):  # iterated, one model name is its characters
            raise UsageError(
                f"fallbacks={fallbacks!r} is a string: pass a list of provider/model names",
                hint=f"fallbacks=[{fallbacks!r}]",
            )
        for fallback in fallbacks:
            embed_request((), fallback, None)  # the same check of its provider/model form
            if fallback not in targets:
                targets.append(fallback)
        plans = [
            # a target plan needs only provider and model (settings, adapter, key)
            plan(gw.project, gw._env, ChatRequest(t.partition("/")[0], t.partition("/")[2], ()))
            for t in targets
        ]
        for target_plan in plans:  # config errors before any call; no key would fix these
            embed_wire(target_plan.settings)
        check_some_key(plans)
        expected = request.dimensions or self.dimension(request.target, None)
        deadline_s = gw._deadline_s if gw._deadline_s is not None else plans[0].settings.deadline_s
        deadline = gw._clock() + deadline_s
        started = time.perf_counter()
        skipped: list[SkippedTarget] = []
        last: ProviderError | None = None
        for i, target_plan in enumerate(plans):
            target = target_plan.request.target
            if target_plan.missing_key is not None:
                skipped.append(
                    SkippedTarget(target, "config", f"{target_plan.missing_key} is not set")
                )
                continue
            size = self.dimension(target, request.dimensions)
            if (i > 0 or request.dimensions is not None) and (expected is None or size != expected):
                why = (
                    f"its dimension is {size}, not {expected}"
                    if size is not None and expected is not None
                    else f"the dimension of {request.target} is unknown (pass dimensions=)"
                    if expected is None
                    else f"its dimension is unknown, {expected} needed"
                )
                skipped.append(SkippedTarget(target, "dimension", why))
                continue
            origin = skipped[-1].target if skipped else None
            breaker = gw._breakers.get(target)
            admitted = breaker.admit()
            if admitted is None and gw._probe_wait:
                admitted = await wait_for_trial(
                    breaker, deadline=deadline, clock=gw._clock, blocking=blocking
                )
            if admitted is None:
                last = ProviderError(
                    "circuit_open",
                    "skipped: circuit open after repeated failures",
                    provider=target_plan.settings.name,
                    model=target_plan.request.model,
                )
                skipped.append(SkippedTarget(target, "circuit_open", last.message))
                gw.calls.emit(ctx, target, "error", "", error_kind="circuit_open", origin=origin)
                continue
            try:
                result = await self._on_target(
                    target_plan, request, ctx, origin, deadline, blocking, expected
                )
            except ProviderError as exc:
                if exc.kind in BREAKER_KINDS:
                    breaker.record_failure(trial=admitted == "trial")
                else:
                    breaker.record_success()
                if exc.kind in NO_FAILOVER:
                    raise
                skipped.append(SkippedTarget(target, exc.kind, exc.message))
                last = exc
                continue
            except BaseException:
                if admitted == "trial":
                    breaker.abandon()
                raise
            breaker.record_success()
            if request.dimensions is None:  # a shortened answer says nothing of the native size
                self._dims[target] = result.dimensions
            total = (time.perf_counter() - started) * 1000.0
            return replace(result, latency_ms=total, fallbacks_tried=tuple(skipped))
        if last is None:  # no target was called: every one was skipped
            raise ProviderError(
                "config",
                "no target could embed: " + "; ".join(f"{s.target}: {s.message}" for s in skipped),
                hint="fallbacks must have the primary's dimension; pass dimensions=N to say it",
            )
        raise chain_error(last, skipped)

    async def _on_target(
        self,
        target_plan: TargetPlan,
        request: EmbedRequest,
        ctx: CallContext,
        origin: str | None,
        deadline: float,
        blocking: bool,
        expected: int | None,
    ) -> EmbedResult:
        """Every batch of `request` on one target (concurrently unless blocking)."""
        gw, settings = self._gw, target_plan.settings
        wire = embed_wire(settings)
        model = target_plan.request.model
        native = native_dimension(model)
        asked = None if native is not None and not native[1] else request.dimensions
        send = EmbedRequest(settings.name, model, request.texts, asked, request.task_type)
        spans = batches(request.texts, wire.max_inputs, wire.max_bytes)

        async def one(start: int, end: int) -> tuple[EmbedParsed, int, float | None]:
            batch = replace(send, texts=request.texts[start:end])
            http = wire.build(batch, settings, target_plan.api_key)
            key = _key(batch) if gw.calls.on_call is not None else ""
            parsed, attempts, latency = await gw._call_wire(
                target_plan, http, wire.parse, ctx, key, origin, deadline, blocking
            )
            cost = self._cost(target_plan, parsed)
            await self._record(ctx, target_plan, parsed, cost, latency, key, origin, blocking)
            if len(parsed.vectors) != end - start:
                raise ProviderError(
                    "bad_response",
                    f"{len(parsed.vectors)} vectors for {end - start} texts",
                    provider=settings.name,
                    model=model,
                )
            return parsed, attempts, cost

        if blocking or len(spans) == 1:
            answers = [await one(a, b) for a, b in spans]
        else:
            tasks = [asyncio.ensure_future(one(a, b)) for a, b in spans]
            try:
                answers = list(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:  # one batch failed: the others are not needed
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        vectors = [v for parsed, _, _ in answers for v in parsed.vectors]
        sizes = {len(v) for v in vectors}
        size = len(vectors[0])
        if len(sizes) > 1 or (expected is not None and size != expected):
            raise ProviderError(
                "bad_response",
                f"answered vectors of {sorted(sizes)} dimensions, expected {expected or size}",
                provider=settings.name,
                model=model,
            )
        costs = [c for _, _, c in answers]
        return EmbedResult(
            vectors=vectors,
            model=target_plan.request.target,
            dimensions=size,
            usage=Usage(input_tokens=sum(p.usage.input_tokens for p, _, _ in answers)),
            cost_usd=None if None in costs else sum(c for c in costs if c is not None),
            latency_ms=0.0,
            model_reported=answers[0][0].model_reported,
            requests=len(spans),
            attempts=sum(a for _, a, _ in answers),
            usage_known=all(p.usage_known for p, _, _ in answers),
        )

    def _cost(self, target_plan: TargetPlan, parsed: EmbedParsed) -> float | None:
        gw = self._gw
        return gw.costs.cost(
            gw.project, target_plan, parsed.usage, parsed.usage_known, parsed.model_reported,
            no_usage="%s sent no token usage for embeddings: their cost is unknown",
        )  # fmt: skip

    async def _record(
        self,
        ctx: CallContext,
        target_plan: TargetPlan,
        parsed: EmbedParsed,
        cost: float | None,
        latency: float,
        key: str,
        origin: str | None,
        blocking: bool,
    ) -> None:
        """One ledger row per answered HTTP request (before its vectors are used)."""
        gw, settings = self._gw, target_plan.settings
        if gw._shared is not None and settings.tpm:
            gw._shared.spend(settings.name, settings.tpm, parsed.usage.input_tokens)
        if gw.calls.on_call is None:
            return
        record = CallRecord(
            timestamp=time.time(),
            context=ctx,
            target=target_plan.request.target,
            model_reported=parsed.model_reported,
            outcome="ok",
            usage=parsed.usage,
            cost_usd=cost,
            latency_ms=latency,
            fallback_from=origin,
            request_hash=key,
            usage_known=parsed.usage_known,
        )
        await gw.calls.hand(record, blocking)


def _key(request: EmbedRequest) -> str:
    """The ledger's request hash of one batch: what was embedded, by which model."""
    what: dict[str, object] = {"embed": request.target, "dimensions": request.dimensions}
    if request.task_type is not None:  # without one: the hashes of earlier versions
        what["task_type"] = request.task_type
    payload = json.dumps(
        {**what, "texts": request.texts}, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()
