"""`RunResult`: what `Runtime.run` / `arun` return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promptctl.promptfile.history import Trim
from promptctl.providers.types import SkippedTarget, ToolCall, Usage

__all__ = ["RunResult"]


@dataclass(frozen=True)
class RunResult:
    """One answered call.

    `model` is the `provider/model` that answered (after routing and fallbacks);
    `fallbacks_tried` holds each target passed over first, in order, with the reason
    (`SkippedTarget(target, reason, message)`, as the results document's
    `fallbacks_tried`). `latency_ms` is the whole call (retries and fallbacks included,
    as `promptctl test` reports it); `attempt_latency_ms` the answering attempt alone.
    For a prompt with
    `output.format: json`, `data` is the parsed answer when it is JSON and matches the
    output schema; otherwise `data` is None and `output_error` says why (the call itself
    succeeded and was billed, so this is a flag, not an exception).
    `context_degraded` holds `(input, reason)` for each resolver that timed out or raised
    and was replaced by its fallback or the input's default (docs/runtime.md, "Context");
    `context_trimmed` what history the answering request left out (`Trim(target,
    reason, messages_dropped, tokens_dropped)`; reason `budget` or `window`).
    `tool_calls` are the calls the model asks for (`ToolCall(id, name, arguments,
    arguments_valid, arguments_error)`): arguments that are not JSON or break the tool's
    schema are a flag, as an invalid JSON answer is. An answer that is only tool calls
    is not checked against `output.schema`: it is not the final answer yet.
    `ttft_ms` (streamed calls only) is the time from the call to its first text delta,
    retries and failovers before it included; None for `run()` and for cached answers.
    """

    text: str
    data: Any
    output_error: str | None
    usage: Usage
    cost_usd: float | None
    latency_ms: float
    model: str
    model_reported: str
    fallbacks_tried: tuple[SkippedTarget, ...]
    prompt_id: str
    prompt_version: str
    prompt_hash: str
    finish_reason: str
    attempt_latency_ms: float = 0.0
    context_degraded: tuple[tuple[str, str], ...] = ()
    context_trimmed: tuple[Trim, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    ttft_ms: float | None = None  # `stream`/`astream`: time to the first token, chain included

    @property
    def ok(self) -> bool:
        """False when a JSON prompt's answer is not valid JSON or breaks its schema, or a
        tool call's arguments are invalid."""
        return self.output_error is None and all(c.arguments_valid for c in self.tool_calls)
