"""The streaming call path: the Gateway's chain, retries, breaker and ledger for SSE answers.

`stream_chain` yields the answer's text deltas as they arrive, then one `ChatResponse`
(the whole text, usage, cost, `ttft_ms`). It walks the same target chain as
`Gateway.complete` (cache/replay, missing keys, retired models, circuit breakers, one
deadline) with one difference that streaming forces:

- Before the first token nothing has reached the caller, so an error or a timeout is
  retried and failed over exactly like a whole call; a missed first-token deadline
  fails over at once (a retry would wait as long again).
- After it, the caller has shown text to someone: a broken stream is never replayed
  elsewhere. It raises `StreamInterrupted` (the partial text, the target, what usage
  the wire reported) and the ledger gets an `error` row `stream_interrupted` with it.
- A caller that stops early (closes the iterator) closes the HTTP response; the ledger
  gets a `cancelled` row with the usage reported so far (usually none: the vendors send
  usage at the end, so its cost is unknown, as for a call cancelled in flight).

The walk down the chain is the Gateway's own (`Gateway._admit`, `Gateway._failed`), so
whole and streamed calls pass over, count and fail over targets by the same rules.

The blocking path (`Gateway.stream_sync`) drives this same generator with a blocking
client whose awaits never suspend (see providers/blocking.py); with a first-token
deadline it runs on the gateway's private loop thread instead, where the deadline can
interrupt a read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from promptctl.errors import ProviderError, StreamInterrupted
from promptctl.plan.request import ChatRequest
from promptctl.providers import _http
from promptctl.providers._http11 import PAST_DEADLINE, read_capped, read_capped_sync
from promptctl.providers.attempt import reported_cost, tag
from promptctl.providers.base import Parsed, StreamDecoder
from promptctl.providers.blocking import BlockingSleep, BlockingSlot
from promptctl.providers.chain import (
    BREAKER_KINDS,
    ChainWalk,
    TargetPlan,
    check_some_key,
    distinct_targets,
    plan,
)
from promptctl.providers.limits import sync_limiter_for
from promptctl.providers.pricing import known_cost
from promptctl.providers.retry import RetryPolicy, with_retries
from promptctl.providers.sse import SSEParser
from promptctl.providers.stream_scrub import StreamScrubber
from promptctl.providers.types import CallContext, ChatResponse, PendingKey

if TYPE_CHECKING:
    from promptctl.providers.gateway import Gateway

__all__ = ["StreamItem", "stream_chain"]

StreamItem = str | ChatResponse


class _FirstTokenTimeout(ProviderError):
    """The first-token deadline passed: fail over at once (a retry would wait again)."""

    @property
    def retryable(self) -> bool:
        return False


class _Body:
    """One streamed HTTP response over the async client."""

    def __init__(self, resp: Any) -> None:
        self.resp = resp
        self._chunks = resp.aiter_bytes()

    async def chunk(self) -> bytes | None:
        try:
            chunk: bytes = await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
        return chunk

    async def read(self) -> bytes:
        """The whole body (a JSON answer or error instead of events), decoded as it is
        read and refused past the answer cap: a gzip bomb stops there."""
        return await read_capped(self._chunks)

    async def close(self) -> None:
        await self.resp.aclose()


class _BlockingBody(_Body):
    """The same over the blocking client: its awaits never suspend. Its reads end at the
    call's deadline (`end`, a `time.monotonic()` value): no timer can interrupt them."""

    def __init__(self, resp: Any, end: float) -> None:
        from promptctl.providers._sync_transport import reads_until

        self.resp = resp
        self._iter = resp.iter_bytes()
        self._end = end
        self._reads_until = reads_until

    async def chunk(self) -> bytes | None:
        with self._reads_until(self._end):
            return next(self._iter, None)

    async def read(self) -> bytes:
        with self._reads_until(self._end):
            return read_capped_sync(self._iter)

    async def close(self) -> None:
        self.resp.close()


class _Whole:
    """A 200 that is one JSON answer, not events (a server ignoring `stream`): the
    whole text is then its only delta."""

    def __init__(self, parsed: Parsed) -> None:
        self._parsed = parsed
        self.complete = True

    def feed(self, event: Any) -> str:
        return ""

    def result(self) -> Parsed:
        return self._parsed


@dataclass
class _Live:
    """An attempt that got its first token (or a complete empty answer)."""

    body: _Body
    slot: Any  # the limiter slot, held until the stream ends
    parser: SSEParser
    decoder: StreamDecoder | _Whole
    deltas: list[str]
    started: float  # perf_counter at the request
    first_at: float  # perf_counter at the first delta (or the end of an empty answer)
    timeout_s: float = 0.0  # the client's read timeout, for messages
    reported_cost: float | None = None
    ended: bool = False
    rest: list[str] = field(default_factory=list)


async def stream_chain(
    gw: Gateway,
    request: ChatRequest,
    fallbacks: Sequence[ChatRequest],
    repeat: int,
    context: CallContext | None,
    *,
    first_token_s: float | None,
    blocking: bool,
) -> AsyncGenerator[StreamItem, None]:
    """Text deltas, then the `ChatResponse`; see the module docstring for failures."""
    ctx = context or CallContext()
    needs_key = gw._cache is not None or gw.mode != "live"  # else hashed when read
    key = request.cache_key(repeat=repeat) if needs_key else PendingKey(request, repeat)
    hit = gw._lookup(request, key, ctx, repeat)
    if hit is not None:  # answered before: one delta, no time to first token to speak of
        if hit.text:
            yield hit.text
        yield hit
        return
    plans = [plan(gw.project, gw._env, r) for r in distinct_targets(request, fallbacks)]
    check_some_key(plans)
    for target_plan in plans:
        if target_plan.adapter.stream_decoder is None:
            raise ProviderError(
                "config",
                f"provider kind {target_plan.settings.kind!r} cannot stream",
                provider=target_plan.settings.name,
                hint="call it without streaming, or route the prompt to a streaming provider",
            )
    deadline_s = gw._deadline_s
    if deadline_s is None:
        deadline_s = plans[0].settings.deadline_s
    deadline = gw._clock() + deadline_s
    started = time.perf_counter()
    walk = ChainWalk()
    for target_plan in plans:
        admitted = await gw._admit(target_plan, walk, ctx, key, deadline, blocking)
        if admitted is None:
            continue
        origin = admitted.origin
        try:
            live, attempts = await _open(
                gw, target_plan, ctx, key, origin, deadline, blocking, first_token_s
            )
        except ProviderError as exc:
            gw._failed(target_plan, exc, admitted, walk, has_next=target_plan is not plans[-1])
            continue
        except BaseException:
            admitted.abandon()
            raise
        ttft_ms = (live.first_at - started) * 1000.0
        breaker = admitted.breaker
        trial = admitted.admission == "trial"
        finished = interrupted = False
        scrub = StreamScrubber(gw.redactor) if gw.redactor.secrets else None
        try:
            for delta in _shown(live.deltas, scrub, live.ended):
                yield delta
            while not live.ended:
                await _more(live)
                for delta in _shown(live.rest, scrub, live.ended):
                    yield delta
                if not live.ended and gw._clock() > deadline:  # a stream trickling for ever
                    raise ProviderError("timeout", f"{PAST_DEADLINE} (deadline_s)")
            parsed = live.decoder.result()  # a malformed tool call fails here, as broken
            finished = True
        except ProviderError as exc:  # broken after the first token: never replayed
            interrupted = True
            if exc.kind in BREAKER_KINDS:
                breaker.record_failure(trial=trial)
            else:
                breaker.record_success()
            raise _interrupted(gw, target_plan, live, exc, ctx, key, origin) from None
        finally:
            released = False
            try:  # a call waiting for the freed slot goes first: a cancellation may land here
                await _release(live)
                released = True
            finally:
                if not (finished and released) and not interrupted:  # stopped early, cancelled
                    _record_partial(gw, target_plan, live, ctx, key, origin, "cancelled")
                    if trial:
                        breaker.record_success()  # it answered: the circuit may close
        breaker.record_success()
        if live.reported_cost is not None:
            parsed = replace(parsed, reported_cost_usd=live.reported_cost)
        if gw.redactor.secrets:
            parsed = replace(parsed, text=gw.redactor.known(parsed.text))
        gw._spend_tokens(target_plan, parsed)
        ended = time.perf_counter()
        latency = (ended - live.started) * 1000.0
        total = (ended - started) * 1000.0
        response = gw._response(target_plan, parsed, attempts, latency, total, walk.skipped)
        response = replace(response, ttft_ms=ttft_ms)
        target = target_plan.request.target
        await gw.calls.answer(ctx, target, key, response, origin, blocking)
        gw._store(request, key, repeat, response)
        yield response
        return
    raise walk.error()


def _shown(deltas: list[str], scrub: StreamScrubber | None, ended: bool) -> list[str]:
    """One network chunk's deltas as the caller sees them: scrubbed of the known keys
    (`StreamScrubber`), what was held back added to the last one when the answer ended."""
    if scrub is None:
        return deltas
    shown = [scrub.feed(delta) for delta in deltas]
    if ended and (rest := scrub.flush()):
        shown.append(shown.pop() + rest if shown else rest)
    return [delta for delta in shown if delta]


async def _open(
    gw: Gateway,
    target_plan: TargetPlan,
    ctx: CallContext,
    key: str,
    origin: str | None,
    deadline: float,
    blocking: bool,
    first_token_s: float | None,
) -> tuple[_Live, int]:
    """Send the request and read up to the first token, retried by the target's policy."""
    settings, request, adapter = target_plan.settings, target_plan.request, target_plan.adapter
    assert adapter.build_stream_request is not None and adapter.stream_decoder is not None
    wire = adapter.build_stream_request(request, settings, target_plan.api_key)
    content = json.dumps(wire.body, separators=(",", ":"), ensure_ascii=False).encode()
    secrets = _secrets(gw, target_plan)
    client: Any
    limiter: Any
    sleep: Callable[[float], Awaitable[None]]
    if blocking:
        assert gw._sync_sleep is not None
        client = gw._pool.sync_client()
        limiter = BlockingSlot(
            sync_limiter_for(settings, clock=gw._clock, sleep=gw._sync_sleep, shared=gw._shared)
        )
        sleep = BlockingSleep(gw._sync_sleep)
    else:
        client = await gw._pool.client()
        limiter = gw._limiter(settings)
        sleep = gw._sleep
    target = request.target
    make_decoder = adapter.stream_decoder
    timeout_s = settings.timeout_s

    async def send_and_read(slot: Any, opened: list[_Body], begun: float) -> _Live:
        http_request = client.build_request(
            "POST", wire.url, headers=wire.headers, content=content, timeout=timeout_s
        )
        body: _Body
        if blocking:
            from promptctl.providers._sync_transport import reads_until

            end = time.monotonic() + max(0.0, deadline - gw._clock())
            with reads_until(end):  # a head trickled a byte at a time, too
                body = _BlockingBody(client.send(http_request, stream=True), end)
        else:
            body = _Body(await client.send(http_request, stream=True))
        opened.append(body)
        live = _Live(body, slot, SSEParser(), make_decoder(), [], begun, 0.0, timeout_s)
        return await _first(live, adapter, gw.redactor.bytes, lambda: gw._clock() > deadline)

    async def attempt(_: int) -> _Live:
        slot = limiter.slot()
        await slot.__aenter__()
        opened: list[_Body] = []  # the response, once its headers came
        begun = time.perf_counter()
        try:
            bound, why = first_token_s, f"no first token within {first_token_s or 0:g}s"
            if not blocking:  # keep-alives reset the read timeout: the chain's deadline
                left = max(0.0, deadline - gw._clock())  # bounds the wait for a token too
                if bound is None or left < bound:
                    bound, why = left, "no first token before the call's deadline (deadline_s)"
            if bound is None:  # the blocking path has none (see stream_sync)
                return await send_and_read(slot, opened, begun)
            try:  # from the request on: a provider slow to answer at all is as slow
                async with asyncio.timeout(bound):
                    return await send_and_read(slot, opened, begun)
            except TimeoutError:
                raise _FirstTokenTimeout(
                    "timeout", why, provider=request.provider, model=request.model
                ) from None
        except (asyncio.CancelledError, KeyboardInterrupt):
            _emit(gw, ctx, target, key, "cancelled", origin)
            await _abandon(opened, slot)
            raise
        except _FirstTokenTimeout:
            await _abandon(opened, slot)
            raise
        except ProviderError as exc:
            await _abandon(opened, slot)
            raise tag(exc, request, secrets) from None
        except _http.TransportError as exc:
            await _abandon(opened, slot)
            raise tag(_transport(exc, timeout_s), request, secrets) from None
        except BaseException:
            await _abandon(opened, slot)
            raise

    def on_error(exc: ProviderError, _: int) -> None:
        if gw._shared is not None and exc.retry_after_s:
            gw._shared.pause(settings.name, exc.retry_after_s)
        _emit(gw, ctx, target, key, exc.kind, origin)

    policy = RetryPolicy(max_retries=settings.max_retries, base_s=gw._retry_base_s)
    return await with_retries(
        attempt,
        policy=policy,
        sleep=sleep,
        rng=gw._rng,
        clock=gw._clock,
        deadline=deadline,
        on_error=on_error,
    )


async def _first(
    live: _Live,
    adapter: Any,
    redact: Callable[[bytes], bytes],
    past_deadline: Callable[[], bool],
) -> _Live:
    """Read until the first text delta, the end of an empty answer, or an error. A whole
    JSON body (an error, or a server ignoring `stream`) is parsed as the adapter parses a
    whole answer, scrubbed of known keys first as the whole-call path does. Keep-alives
    past the call's deadline end the wait (a blocking read has no timer to do it)."""
    resp = live.body.resp
    status = resp.status_code
    ctype = resp.headers.get("content-type", "")
    if status >= 400 or (status == 200 and "json" in ctype and "event-stream" not in ctype):
        data = redact(await live.body.read())
        parsed = adapter.parse_response(status, resp.headers, data)  # raises for an error
        live.decoder = _Whole(parsed)
        live.deltas = [parsed.text] if parsed.text else []
        live.first_at = time.perf_counter()
        live.ended = True
        return live
    live.reported_cost = reported_cost(resp.headers)
    while not live.ended:
        await _more(live)
        if live.rest:
            live.deltas = live.rest
            live.rest = []
            break
        if not live.ended and past_deadline():  # (not retried: the deadline has passed)
            raise ProviderError("timeout", "no first token before the call's deadline (deadline_s)")
    live.first_at = time.perf_counter()
    return live


async def _more(live: _Live) -> None:
    """Read the next network chunk into `live.rest` (its text deltas); set `ended` at the
    stream's end; raise ProviderError for an error event, a stall or a stream cut short."""
    try:
        chunk = await live.body.chunk()
    except _http.TransportError as exc:
        live.ended = True
        raise _transport(exc, live.timeout_s) from None
    events = live.parser.feed(chunk) if chunk is not None else live.parser.close()
    decoder = live.decoder
    rest: list[str] = []
    for event in events:
        text = decoder.feed(event)
        if text:
            rest.append(text)
    live.rest = rest
    if chunk is None:
        live.ended = True
        if not decoder.complete:
            raise ProviderError(
                "network",
                "the stream ended before its end event (cut): the server closed it, or sent"
                " [DONE] before a finish reason (some local servers cut streams they serve"
                " concurrently: try --concurrency 1)",
            )


def _transport(exc: Exception, timeout_s: float) -> ProviderError:
    if isinstance(exc, _http.TimeoutError_):
        if str(exc) == PAST_DEADLINE:  # a blocking read cut at the deadline (reads_until)
            return ProviderError("timeout", f"{PAST_DEADLINE} (deadline_s)")
        return ProviderError("timeout", f"no data within {timeout_s}s")
    return ProviderError("network", f"{type(exc).__name__}: {exc}")


async def _abandon(opened: list[_Body], slot: Any) -> None:
    try:
        if opened:
            await opened[0].close()
    finally:
        await slot.__aexit__(None, None, None)


async def _release(live: _Live) -> None:
    try:
        await live.body.close()
    finally:
        await live.slot.__aexit__(None, None, None)


def _secrets(gw: Gateway, target_plan: TargetPlan) -> tuple[str, ...]:
    known = gw.redactor.secrets
    return (target_plan.api_key, *known) if target_plan.api_key else known


def _emit(
    gw: Gateway, ctx: CallContext, target: str, key: str, kind: str, origin: str | None
) -> None:
    gw.calls.emit(ctx, target, "error", key, error_kind=kind, origin=origin)


def _partial(gw: Gateway, target_plan: TargetPlan, live: _Live) -> ChatResponse:
    """What a stream that did not finish said: its text so far and any reported usage."""
    try:
        parsed = live.decoder.result()
    except ProviderError:  # what it said cannot be read (a tool call with no name)
        parsed = Parsed(text="", usage_known=False)
    price = gw.costs.price_of(gw.project, target_plan, parsed.model_reported)
    cost = known_cost(parsed.usage, parsed.usage_known, price)
    return ChatResponse(
        text=gw.redactor.known(parsed.text),
        target=target_plan.request.target,
        finish_reason="other",
        usage=parsed.usage,
        model_reported=parsed.model_reported,
        latency_ms=(time.perf_counter() - live.started) * 1000.0,
        cost_usd=cost,
        usage_known=parsed.usage_known,
    )


def _record_partial(
    gw: Gateway,
    target_plan: TargetPlan,
    live: _Live,
    ctx: CallContext,
    key: str,
    origin: str | None,
    kind: str,
) -> ChatResponse:
    partial = _partial(gw, target_plan, live)
    gw.calls.emit(
        ctx, partial.target, "error", key, response=partial, error_kind=kind, origin=origin
    )
    return partial


def _interrupted(
    gw: Gateway,
    target_plan: TargetPlan,
    live: _Live,
    exc: ProviderError,
    ctx: CallContext,
    key: str,
    origin: str | None,
) -> StreamInterrupted:
    live.ended = True  # recorded here, not again as cancelled
    partial = _record_partial(gw, target_plan, live, ctx, key, origin, "stream_interrupted")
    request = target_plan.request
    cause = tag(exc, request, _secrets(gw, target_plan))
    return StreamInterrupted(
        cause.kind,
        f"stream broken after {len(partial.text)} characters: "
        + cause.message.split(f"{cause.kind}: ", 1)[-1],
        partial_text=partial.text,
        usage=partial.usage,
        usage_known=partial.usage_known,
        provider=request.provider,
        model=request.model,
        status=cause.status,
        hint="the partial text is on the error (.partial_text); "
        "a stream is never replayed on another target after its first token",
    )
