"""Calling one target: the HTTP attempt under its limits slot, retried by policy.

Split from the Gateway, which decides *which* target to call and what to record; this
module knows *how* a call goes on the wire: build the provider's request once, post it
under a limiter slot, time it, parse it, and turn transport failures and adapter errors
into a `ProviderError` naming the target with secrets scrubbed. Transport-agnostic: the
Gateway passes the async client, limiter and sleep, or their blocking stand-ins.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.providers._http11 import LATE
from promptctl.providers.base import Parsed, WireRequest, scrub
from promptctl.providers.chain import TargetPlan
from promptctl.providers.redact import Redactor
from promptctl.providers.retry import RetryPolicy, with_retries

__all__ = ["COST_HEADER", "call_wire", "chat_job", "reported_cost", "tag"]

T = TypeVar("T")
# built once: `json.dumps` with arguments makes a new encoder per call
_WIRE_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def chat_job(plan: TargetPlan) -> tuple[WireRequest, Callable[[int, Any, bytes], Parsed]]:
    """A chat call's wire request and parser (the adapter's, plus a proxy's cost header)."""
    wire = plan.adapter.build_request(plan.request, plan.settings, plan.api_key)

    def parse(status: int, headers: Any, body: bytes) -> Parsed:
        parsed = plan.adapter.parse_response(status, headers, body)
        reported = reported_cost(headers)
        return parsed if reported is None else replace(parsed, reported_cost_usd=reported)

    return wire, parse


async def call_wire(
    plan: TargetPlan,
    wire: WireRequest,
    parse: Callable[[int, Any, bytes], T],
    *,
    client: Any,
    limiter: Any,
    sleep: Callable[[float], Awaitable[None]],
    policy: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    deadline: float,
    on_error: Callable[[ProviderError, int], None],
    on_cancel: Callable[[], None] | None = None,
    redactor: Redactor | None = None,
) -> tuple[T, int, float]:
    """Post `wire` to `plan`'s target with retries and parse the answer with `parse`:
    the one HTTP path of chat calls and embeddings alike.

    `on_cancel` runs when the call is cancelled (Ctrl-C, task cancellation) after its
    request went out: it may be billed, so the caller records it with an unknown cost.
    `redactor` scrubs the response body before anything parses it, so a key that the
    server echoes reaches no answer, error, cache, recording or report.
    """
    settings, request = plan.settings, plan.request
    content = _WIRE_JSON.encode(wire.body).encode()
    known = redactor.secrets if redactor is not None else ()
    secrets = (plan.api_key, *known) if plan.api_key else known
    latency = 0.0
    # the pooled async client's short path: the same bytes out, no httpx2 request/response
    post = getattr(client, "post_bytes", None) or client.post

    async def attempt(_: int) -> T:
        nonlocal latency
        received = False
        try:
            async with limiter.slot():
                started = time.perf_counter()
                try:
                    resp = await post(
                        wire.url, headers=wire.headers, content=content, timeout=settings.timeout_s
                    )
                    body = resp.content
                except (asyncio.CancelledError, KeyboardInterrupt):
                    if on_cancel is not None:
                        on_cancel()
                    raise
                except ProviderError as exc:  # the transport refused the answer (its size)
                    raise tag(exc, request, secrets) from None
                except Exception as exc:
                    error = _client_error(exc, settings.timeout_s)
                    if error is None:
                        raise
                    raise tag(error, request, secrets) from None
                received = True
                latency = (time.perf_counter() - started) * 1000.0
        except asyncio.CancelledError:
            # cancelled while the freed slot went to the next call (`CappedLimiter`): this
            # answer is not recorded; its call is, as one cancelled in flight
            if received and on_cancel is not None:
                on_cancel()
            raise
        if redactor is not None:
            body = redactor.bytes(body)
        try:
            return parse(resp.status_code, resp.headers, body)
        except ProviderError as exc:
            raise tag(exc, request, secrets) from None

    answer, attempts = await with_retries(
        attempt,
        policy=policy,
        sleep=sleep,
        rng=rng,
        clock=clock,
        deadline=deadline,
        on_error=on_error,
    )
    return answer, attempts, latency


def _client_error(exc: Exception, timeout_s: float) -> ProviderError | None:
    """An HTTP client's failure as a ProviderError (httpx2's timeout or transport error),
    None for anything else: `config` for a request that cannot be written at all (a
    header or URL of the provider's settings HTTP forbids: retrying cannot heal it). No
    httpx2 error exists before httpx2 is imported, and a call whose answers come plain
    never imports it (`_direct`): looked up, not imported, here."""
    if isinstance(exc, UnicodeEncodeError):  # a non-ASCII header value set in code
        return ProviderError(
            "config",
            "the request cannot be sent: a header value is not ASCII",
            hint="HTTP header values are ASCII: check the provider's `headers:`",
        )
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is None:
        return None
    if isinstance(exc, httpx2.TimeoutException):
        if str(exc) == LATE:  # the answer came, but a byte at a time
            return ProviderError("timeout", f"the whole answer did not arrive within {timeout_s}s")
        return ProviderError("timeout", f"no response within {timeout_s}s")
    if isinstance(exc, httpx2.LocalProtocolError):
        return ProviderError(
            "config",
            f"the request cannot be sent: {exc}",
            hint="a header in the provider's `headers:` (or its base_url) holds a character "
            "HTTP does not allow",
        )
    if isinstance(exc, httpx2.TransportError):
        return ProviderError("network", f"{type(exc).__name__}: {exc}")
    return None


COST_HEADER = "x-litellm-response-cost"


def reported_cost(headers: Any) -> float | None:
    """The USD cost a LiteLLM proxy reports for the call; None if absent or not a sane number."""
    raw = headers.get(COST_HEADER)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def tag(exc: ProviderError, request: ChatRequest, secrets: tuple[str, ...]) -> ProviderError:
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
