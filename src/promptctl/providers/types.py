"""Provider-neutral request and response types.

Adapters map `ChatRequest` to their wire format and the wire response back to
`ChatResponse`; nothing above the provider layer knows any vendor's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, overload

# The request types live with the prompt format and the call plan; re-exported here
# because they are the provider layer's interface (adapters map a ChatRequest).
from promptctl.plan.request import ChatRequest, plain_data
from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolCall, ToolSpec
from promptctl.promptfile.history import Trim

__all__ = [
    "CallContext",
    "CallRecord",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "FinishReason",
    "PendingKey",
    "ResponseFormat",
    "SkippedTarget",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "plain_data",
]

FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]


@dataclass(frozen=True)
class Usage:
    """Token counts, normalised across providers.

    `input_tokens` counts every prompt token *including* cached reads and cache writes;
    `cached_input_tokens` and `cache_write_tokens` say how many of them were billed at
    the cache prices; `cache_write_1h_tokens` says how many of the cache writes used the
    one-hour TTL (Anthropic), which has its own price. `output_tokens` counts every
    generated token *including* reasoning; `reasoning_tokens` says how many of them were reasoning.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class SkippedTarget:
    """A target tried before the one that answered, and why it was passed over."""

    target: str
    reason: str  # an error kind, e.g. "rate_limit", "circuit_open", "context_length"
    message: str = ""


@dataclass(frozen=True)
class ChatResponse:
    """A model's answer plus everything needed to cost, cache and audit it.

    `target` is the `provider/model` that actually answered (after routing or
    fallback); `model_reported` is the exact model id the server returned.
    `latency_ms` is the whole call as the caller waited for it: every retry, wait and
    failed target of the chain included; `attempt_latency_ms` is the answering HTTP
    attempt alone (what the ledger records per attempt).
    """

    text: str
    target: str
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model_reported: str = ""
    latency_ms: float = 0.0
    request_id: str | None = None
    cost_usd: float | None = None
    cached: bool = False
    attempts: int = 1
    fallbacks_tried: tuple[SkippedTarget, ...] = ()
    usage_known: bool = True  # False: the usage block was absent or unreadable
    attempt_latency_ms: float = 0.0
    ttft_ms: float | None = None  # a streamed answer: time to its first token, chain included
    # the tool calls the model asked for, arguments checked against the tools' schemas
    tool_calls: tuple[ToolCall, ...] = ()

    # stored responses (cache, recordings) without tool calls stay as they were
    _omit_defaults: ClassVar[tuple[str, ...]] = ("tool_calls",)


@dataclass(frozen=True)
class CallContext:
    """Who is calling: carried into ledger rows and into error messages."""

    source: Literal["eval", "runtime", "judge"] = "eval"
    prompt_id: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    test: str | None = None
    tags: tuple[str, ...] = ()
    # inputs whose context source degraded: (name, reason), as RunResult.context_degraded
    context_degraded: tuple[tuple[str, str], ...] = ()
    # history the plan left out, per target (the ledger keeps each row's target's own)
    context_trimmed: tuple[Trim, ...] = ()
    # what was asked: a chat completion or embeddings (the ledger's `operation` column)
    operation: Literal["chat", "embed"] = "chat"


class PendingKey(str):
    """A request's cache key, not hashed yet: `CallRecord.request_hash` hashes it when
    first read. A bare live call (no cache, no recordings) needs no key of its own, and a
    ledger reads it on its writer thread. As a `str` it is empty: never a cache key."""

    request: ChatRequest
    repeat: int

    def __new__(cls, request: ChatRequest, repeat: int = 0) -> PendingKey:
        self = super().__new__(cls, "")
        self.request, self.repeat = request, repeat
        return self


class _RequestHash:
    """`CallRecord.request_hash`: a field that resolves a `PendingKey` on first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = "_" + name

    @overload
    def __get__(self, obj: None, owner: Any) -> None: ...
    @overload
    def __get__(self, obj: object, owner: Any) -> str | None: ...
    def __get__(self, obj: object | None, owner: Any = None) -> str | None:
        if obj is None:
            return None  # the field's default
        value: str | None = obj.__dict__[self._slot]
        if isinstance(value, PendingKey):
            value = obj.__dict__[self._slot] = value.request.cache_key(repeat=value.repeat)
        return value

    def __set__(self, obj: object, value: str | None) -> None:
        obj.__dict__[self._slot] = value


@dataclass(frozen=True)
class CallRecord:
    """One provider call (or cache/replay hit) as the ledger stores it.

    Emitted by the provider layer for every attempt that reached a target or the cache;
    `outcome` is "ok", "cached" or "error"; `fallback_from` names the target that failed
    before this one answered.
    """

    timestamp: float
    context: CallContext
    target: str
    model_reported: str
    outcome: Literal["ok", "cached", "error"]
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float = 0.0
    error_kind: str | None = None
    fallback_from: str | None = None
    request_hash: _RequestHash = _RequestHash()  # str | None; a PendingKey is hashed on read
    cost_saved_usd: float | None = None  # a cache/replay hit: what the call would have cost
    usage_known: bool = True  # False: unreadable usage, or a call cancelled in flight
