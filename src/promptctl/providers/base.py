"""What every adapter is, the registry of adapters, and helpers they share.

An adapter is two pure functions: `build_request` maps a `ChatRequest` to the wire
(url, headers, JSON body) and `parse_response` maps the wire answer back to `Parsed`
or raises a typed `ProviderError`. No I/O happens in an adapter, so each one is tested
without a network and the gateway owns connections, retries and fallbacks.

A wire that streams adds `build_stream_request` (the same request asking for server-sent
events) and `stream_decoder` (a fresh `StreamDecoder` per call, fed parsed SSE events by
providers/streaming.py): still no I/O in the adapter.
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from promptctl.errors import ProviderError, ProviderErrorKind
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ToolCall
from promptctl.promptfile.json_text import loads_clean
from promptctl.promptfile.model import PROVIDER_KINDS, ProviderSettings
from promptctl.providers.redact import scrub
from promptctl.providers.types import FinishReason, Usage

if TYPE_CHECKING:
    from promptctl.providers.sse import SSEEvent

__all__ = [
    "ADAPTERS",
    "Adapter",
    "Parsed",
    "StreamDecoder",
    "WireRequest",
    "decode_json",
    "error_for_status",
    "finite_seconds",
    "load_adapter",
    "retry_after_from_headers",
    "scrub",
]


@dataclass(frozen=True)
class WireRequest:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Parsed:
    """The provider-neutral fields of a successful response.

    `usage_known` is False when the usage block was absent or unreadable: the counts
    are then 0 but the cost is unknown, not free. `tool_calls` are the calls the model
    asked for, in order (their arguments checked as JSON only: the gateway checks them
    against the tools' schemas, which the adapter does not see).
    """

    text: str
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model_reported: str = ""
    request_id: str | None = None
    usage_known: bool = True
    # what a proxy says the call cost (LiteLLM's x-litellm-response-cost), if it said
    reported_cost_usd: float | None = None
    tool_calls: tuple[ToolCall, ...] = ()


class StreamDecoder(Protocol):
    """One streamed answer of one wire format, event by event.

    `feed` returns the text the event adds ("" for none) and raises `ProviderError` for
    an error event or an event it cannot read (`bad_response`); `complete` says whether
    the wire's end was seen (a stream that stops before is cut); `result` is what the
    stream said so far: text, finish reason, usage (`usage_known` False until reported).
    """

    def feed(self, event: SSEEvent) -> str: ...

    @property
    def complete(self) -> bool: ...

    def result(self) -> Parsed: ...


BuildFn = Callable[[ChatRequest, ProviderSettings, "str | None"], WireRequest]
ParseFn = Callable[[int, Mapping[str, str], bytes], Parsed]


@dataclass(frozen=True)
class Adapter:
    """One wire format; `needs_key` is False for local servers that ignore auth.

    `build_stream_request` and `stream_decoder` are None for a wire that cannot stream.
    `unsupported_params` are prompt params the wire has no field for: `build_request`
    refuses them and lint reports them (PC025) before any call.
    """

    kind: str
    build_request: BuildFn
    parse_response: ParseFn
    needs_key: bool = True
    build_stream_request: BuildFn | None = None
    stream_decoder: Callable[[], StreamDecoder] | None = None
    unsupported_params: tuple[str, ...] = ()


# kind -> "module:attribute", imported on first use so unused adapters cost nothing. The
# kinds are `promptfile.model.ProviderKind` (what promptctl.yaml may name); kind `x-y`
# lives in `providers/x_y.py` as `ADAPTER`, so a new wire format is its module plus its
# name in that list.
ADAPTERS: Mapping[str, str] = {
    kind: f"promptctl.providers.{kind.replace('-', '_')}:ADAPTER" for kind in PROVIDER_KINDS
}
_loaded: dict[str, Adapter] = {}


def load_adapter(kind: str) -> Adapter:
    adapter = _loaded.get(kind)
    if adapter is not None:
        return adapter
    spec = ADAPTERS.get(kind)
    if spec is None:
        raise ProviderError(
            "config",
            f"unknown provider kind {kind!r}",
            hint="kind is one of " + ", ".join(sorted(ADAPTERS)),
        )
    module_name, attr = spec.split(":")
    loaded = getattr(importlib.import_module(module_name), attr)
    if not isinstance(loaded, Adapter):
        raise TypeError(f"{spec} is not an Adapter")
    _loaded[kind] = loaded
    return loaded


def decode_json(body: bytes, status: int) -> Any:
    """Parse a response body; a non-JSON body is `bad_response` (or the HTTP failure)."""
    try:
        return loads_clean(body)
    except RecursionError:  # a body nested past the stack is no answer either
        if status >= 400:
            raise error_for_status(status, f"HTTP {status}: (a body nested too deeply)") from None
        raise ProviderError(
            "bad_response", "response is JSON nested too deeply to read", status=status
        ) from None
    except ValueError:
        # scrub first, then cut: a cut key is still a key (and the patterns need it whole)
        snippet = scrub(body[:4096].decode("utf-8", "replace"))[:200]
        if status >= 400:
            raise error_for_status(status, f"HTTP {status}: {snippet!r}") from None
        raise ProviderError(
            "bad_response", f"response is not JSON: {snippet!r}", status=status
        ) from None


def error_for_status(
    status: int, message: str, *, code: str = "", retry_after_s: float | None = None
) -> ProviderError:
    """The generic HTTP-status mapping; adapters refine it with the body's error code."""
    kind: ProviderErrorKind
    if code in {"context_length_exceeded", "string_above_max_length"} or _looks_like_context(
        message
    ):
        kind = "context_length"
    elif code == "model_not_found" or (status in (400, 404, 410) and _looks_retired(message)):
        kind = "model_retired"
    elif code == "content_filter":
        kind = "content_filter"
    elif code == "insufficient_quota":
        kind = "quota"
    elif status in (401, 403):
        kind = "auth"
    elif status == 402:
        kind = "quota"
    elif status == 404:
        kind = "not_found"
    elif status in (408, 504):
        kind = "timeout"
    elif status == 409:
        kind = "server"
    elif status == 429:
        kind = "rate_limit"
    elif status in (503, 529):
        kind = "overloaded"
    elif status >= 500:
        kind = "server"
    else:
        kind = "bad_request"
    return ProviderError(kind, scrub(message), status=status, retry_after_s=retry_after_s)


# "The model `gpt-4-32k` does not exist or you do not have access to it." (OpenAI),
# "model: claude-3-opus-20240229" (Anthropic not_found_error), "models/gemini-1.0-pro is not
# found for API version v1beta, or is not supported for generateContent." (Gemini).
_RETIRED = re.compile(
    r"^model: \S+$|\bmodels?\b.*\b(does not exist|not found|deprecated|retired"
    r"|decommissioned|no longer (available|supported)|has been shut down)",
    re.IGNORECASE,
)


def _looks_retired(message: str) -> bool:
    """A refusal naming the model as gone, not some other missing resource."""
    return _RETIRED.search(message.strip()) is not None


def _looks_like_context(message: str) -> bool:
    low = message.lower()
    return any(
        s in low
        for s in (
            "context length",
            "context_length",
            "context window",
            "prompt is too long",
            "input token count",
            "exceeds the maximum number of tokens",
        )
    )


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms`, then `retry-after` in seconds or as an HTTP-date, in seconds.

    A server's header is untrusted: `inf`, `nan` or a number too large for a float are
    no hint (a fleet paused for `inf` seconds, or an OverflowError, otherwise)."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = headers.get(name)
        if raw:
            try:
                return finite_seconds(float(raw) / 1000.0)
            except ValueError:
                pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return finite_seconds(float(raw))
    except ValueError:
        pass
    import email.utils  # an HTTP-date: rare, and the email package is ~2.5 ms to import

    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def finite_seconds(value: float) -> float | None:
    """A wait a server asked for, as seconds >= 0; None for `inf` and `nan`."""
    return max(0.0, value) if math.isfinite(value) else None
