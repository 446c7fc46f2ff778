"""CallRecord factory for ledger and cost-report tests."""

from __future__ import annotations

from promptctl.providers.types import CallContext, CallRecord, Usage


def call(
    *,
    ts: float = 1_800_000_000.0,
    prompt: str | None = "support/triage",
    target: str = "openai/gpt-4o-mini",
    cost: float | None = 0.01,
    source: str = "runtime",
    tags: tuple[str, ...] = ("support",),
    outcome: str = "ok",
    input_tokens: int = 100,
    cached: int = 0,
    output_tokens: int = 20,
    test: str | None = None,
) -> CallRecord:
    return CallRecord(
        timestamp=ts,
        context=CallContext(
            source=source,  # type: ignore[arg-type]
            prompt_id=prompt,
            prompt_version="1.3.0" if prompt else None,
            prompt_hash="sha256:abc" if prompt else None,
            test=test,
            tags=tags,
        ),
        target=target,
        model_reported=target.split("/", 1)[1] + "-2024-07-18",
        outcome=outcome,  # type: ignore[arg-type]
        usage=Usage(
            input_tokens=input_tokens, cached_input_tokens=cached, output_tokens=output_tokens
        ),
        cost_usd=cost,
        latency_ms=120.0,
        error_kind="rate_limit" if outcome == "error" else None,
        request_hash="req-1",
    )
