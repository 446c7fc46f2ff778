"""`Runtime.stream` / `astream`: the Gateway's stream items as the application sees them.

Text deltas pass through untouched; the Gateway's final `ChatResponse` becomes the
same `RunResult` as `run()` returns (`to_result`: JSON output parsed and validated,
fallbacks, trims) plus `ttft_ms`. Closing the iterator early closes the Gateway's
stream, which closes the HTTP response and records the call as `cancelled`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import replace

from promptctl.promptfile.model import Prompt
from promptctl.providers.types import ChatResponse
from promptctl.runtime._prepare import Prepared, to_result
from promptctl.runtime._result import RunResult

__all__ = ["StreamChunk", "arun_stream", "run_stream"]

StreamChunk = str | RunResult


def _result(
    prompt: Prompt,
    call: Prepared,
    response: ChatResponse,
    started: float,
    degraded: tuple[tuple[str, str], ...],
) -> RunResult:
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    result = to_result(prompt, response, elapsed_ms, degraded, call.plan)
    return replace(result, ttft_ms=response.ttft_ms)


def run_stream(
    prompt: Prompt,
    call: Prepared,
    items: Iterator[str | ChatResponse],
    started: float,
    degraded: tuple[tuple[str, str], ...],
) -> Iterator[StreamChunk]:
    try:
        for item in items:
            if type(item) is str:
                yield item
            else:
                assert isinstance(item, ChatResponse)
                yield _result(prompt, call, item, started, degraded)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


async def arun_stream(
    prompt: Prompt,
    call: Prepared,
    items: AsyncIterator[str | ChatResponse],
    started: float,
    degraded: tuple[tuple[str, str], ...],
) -> AsyncGenerator[StreamChunk, None]:
    try:
        async for item in items:
            if type(item) is str:
                yield item
            else:
                assert isinstance(item, ChatResponse)
                yield _result(prompt, call, item, started, degraded)
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
