"""Provider-neutral request and response types.

Adapters map `ChatRequest` to their wire format and the wire response back to
`ChatResponse`; nothing above the provider layer knows any vendor's JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Literal

__all__ = [
    "CallContext",
    "CallRecord",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "FinishReason",
    "ResponseFormat",
    "SkippedTarget",
    "Usage",
    "plain_data",
]

FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class ResponseFormat:
    """`text`, `json` (any JSON object) or `json_schema` (with `schema`)."""

    type: Literal["text", "json", "json_schema"] = "text"
    schema: Mapping[str, Any] | None = None
    name: str = "output"


@dataclass(frozen=True)
class ChatRequest:
    """What promptctl asks of a model, before any vendor mapping.

    `extra` carries provider-specific params passed through verbatim (e.g. `top_k`).
    """

    provider: str
    model: str
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    response_format: ResponseFormat = field(default_factory=ResponseFormat)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"{self.provider}/{self.model}"

    def canonical(self) -> dict[str, Any]:
        """The request as plain sorted data: the basis of cache keys and recordings."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self), sort_keys=True))
        return data

    def _canonical_json(self) -> str:
        """`canonical()` as compact sorted JSON, computed once per (immutable) request:
        an evaluation asks for the key of the same request several times."""
        cached: str | None = self.__dict__.get("_canonical_json_cache")
        if cached is None:
            cached = json.dumps(
                plain_data(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            object.__setattr__(self, "_canonical_json_cache", cached)
        return cached

    def cache_key(self, *, repeat: int = 0) -> str:
        """SHA-256 of the canonical request; `repeat` keeps N repeats N distinct calls.

        The payload is `{"repeat": N, "request": canonical}` as compact sorted JSON.
        """
        payload = f'{{"repeat":{int(repeat)},"request":{self._canonical_json()}}}'
        return hashlib.sha256(payload.encode()).hexdigest()


_SCALARS = (str, int, float, bool, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def plain_data(value: Any) -> Any:
    """`asdict` without its deep copies (tuples become lists; the JSON is the same): a
    runtime call computes one cache key per request, and `asdict` was most of the
    gateway's own time."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    names = _FIELD_NAMES.get(cls)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: plain_data(getattr(value, name)) for name in names}
    if isinstance(value, list | tuple):
        return [plain_data(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain_data(v) for k, v in value.items()}
    return value


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


@dataclass(frozen=True)
class CallContext:
    """Who is calling: carried into ledger rows and into error messages."""

    source: Literal["eval", "runtime", "judge"] = "eval"
    prompt_id: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    test: str | None = None
    tags: tuple[str, ...] = ()


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
    request_hash: str | None = None
    cost_saved_usd: float | None = None  # a cache/replay hit: what the call would have cost
    usage_known: bool = True  # False: unreadable usage, or a call cancelled in flight
