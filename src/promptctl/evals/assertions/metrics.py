"""Checks on what the call cost and how long it took."""

from __future__ import annotations

from promptctl.evals.assertions.base import (
    AssertionContext,
    Check,
    InvalidSpec,
    number_option,
    register,
)
from promptctl.promptfile.model import AssertionSpec

__all__: list[str] = []


def _max(spec: AssertionSpec) -> float:
    """The required `max` (long form, or the short form's value)."""
    limit = number_option(spec, "max", spec.value)
    if limit is None:
        raise InvalidSpec(f"{spec.type} needs a numeric max")
    return limit


@register("cost")
def _cost(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Pass when the case cost at most `max` USD; an unknown cost (no price) fails."""
    limit = _max(spec)
    if ctx.cost_usd is None:
        if not ctx.usage_known:
            return Check(False, "cost is unknown (the response's token usage is unreadable)")
        return Check(False, "cost is unknown (no price for this model; add one under pricing:)")
    ok = ctx.cost_usd <= limit
    return Check(ok, f"cost ${ctx.cost_usd:.6f} {'<=' if ok else '>'} max ${limit:g}")


@register("latency")
def _latency(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Pass when the call took at most `max` ms.

    A response served from the cache or a recording was not timed just now: its latency
    says nothing about the model, and judging it would make a cached re-run fail or pass
    by accident. Such a case passes with score 1 and a reason saying it was not judged;
    run with `--mode live` to measure latency. An unknown latency (not cached) fails.
    """
    limit = _max(spec)
    if ctx.cached:
        return Check(
            True,
            "not judged: the response came from the cache (latency not measured)",
            neutral=True,
        )
    if ctx.latency_ms is None:
        return Check(False, "latency is unknown")
    ok = ctx.latency_ms <= limit
    return Check(ok, f"latency {ctx.latency_ms:.0f} ms {'<=' if ok else '>'} max {limit:g} ms")


@register("ttft")
def _ttft(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Pass when the first token came at most `max` ms after the call started.

    Only a streamed case has a time to first token (`stream: true` in the model's params,
    or `promptctl test --stream`); any other fails with that fix. A cached answer is not
    judged, as for `latency`.
    """
    limit = _max(spec)
    if ctx.cached:
        return Check(
            True,
            "not judged: the response came from the cache (time to first token not measured)",
            neutral=True,
        )
    if ctx.ttft_ms is None:
        return Check(
            False,
            "time to first token is unknown: the case was not streamed "
            "(set `stream: true` in model params or run with --stream)",
        )
    ok = ctx.ttft_ms <= limit
    verdict = "<=" if ok else ">"
    return Check(ok, f"time to first token {ctx.ttft_ms:.0f} ms {verdict} max {limit:g} ms")
