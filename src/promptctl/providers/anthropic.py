"""Anthropic Messages (`POST {base_url}/v1/messages`).

The system prompt is top level, `max_tokens` is required (DEFAULT_MAX_TOKENS when the
prompt sets none), and usage reports cache reads and writes *apart from*
`input_tokens`: they are added back so `Usage.input_tokens` counts every prompt token.
A 429 for a reached spend limit is `quota`, never retried: waiting will not heal it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError, ProviderErrorKind
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import (
    Adapter,
    Parsed,
    StreamDecoder,
    WireRequest,
    decode_json,
    error_for_status,
    retry_after_from_headers,
    scrub,
)
from promptctl.providers.shape import bad, count, obj, opt_str
from promptctl.providers.types import FinishReason, Usage

__all__ = ["ADAPTER", "API_VERSION", "DEFAULT_MAX_TOKENS"]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        if messages and messages[-1]["role"] == m.role:  # Anthropic wants alternating turns
            messages[-1]["content"][0]["text"] += "\n\n" + m.content
        else:
            messages.append({"role": m.role, "content": [{"type": "text", "text": m.content}]})
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    body.update(request.extra)
    headers = {
        "content-type": "application/json",
        "anthropic-version": API_VERSION,
        **settings.headers,
    }
    if api_key:
        headers["x-api-key"] = api_key
    base = (settings.base_url or "https://api.anthropic.com").rstrip("/")
    return WireRequest(f"{base}/v1/messages", headers, body)


_FINISH: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_KINDS: Mapping[str, ProviderErrorKind] = {
    "authentication_error": "auth",
    "permission_error": "auth",
    "billing_error": "quota",
    "not_found_error": "not_found",
    "rate_limit_error": "rate_limit",
    "api_error": "server",
    "overloaded_error": "overloaded",
    "timeout_error": "timeout",
}


def _parse(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, Mapping) and data.get("type") == "error"):
        raise _error(status if status >= 400 else 500, headers, data)
    data = obj(data, "(body)")
    if not isinstance(data.get("content"), list):
        raise bad("content", "is not an array")
    texts: list[str] = []
    for i, raw_block in enumerate(data["content"]):
        block = obj(raw_block, f"content[{i}]")
        if block.get("type") == "text":
            texts.append(opt_str(block.get("text"), f"content[{i}].text") or "")
    raw = data.get("usage")
    counts = (
        count(raw, "input_tokens", required=True),
        count(raw, "output_tokens", required=True),
        count(raw, "cache_read_input_tokens"),
        count(raw, "cache_creation_input_tokens"),
        count(raw, "cache_creation", "ephemeral_1h_input_tokens"),
    )
    inp, out, cache_read, cache_write, write_1h = (n or 0 for n in counts)
    usage = Usage(
        input_tokens=inp + cache_read + cache_write,
        output_tokens=out,
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
    )
    return Parsed(
        text="".join(texts),
        finish_reason=_FINISH.get(str(data.get("stop_reason")), "other"),
        usage=usage,
        model_reported=opt_str(data.get("model"), "model") or "",
        request_id=headers.get("request-id") or opt_str(data.get("id"), "id"),
        usage_known=None not in counts,
    )


def _error(status: int, headers: Mapping[str, str], data: Any) -> ProviderError:
    err = data.get("error") if isinstance(data, Mapping) else None
    err = err if isinstance(err, Mapping) else {}
    message = str(err.get("message") or data)
    etype = str(err.get("type") or "")
    raw_details = err.get("details")
    details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
    retry_after = retry_after_from_headers(headers)
    if details.get("error_code") == "enforced_spend_limit_reached":
        return ProviderError("quota", scrub(message), status=status, hint="raise the spend limit")
    generic = error_for_status(status, message, retry_after_s=retry_after)
    if generic.kind in ("context_length", "model_retired"):
        return generic
    kind = _KINDS.get(etype)
    if kind is None:
        return generic
    return ProviderError(kind, scrub(message), status=status, retry_after_s=retry_after)


def _build_stream(
    request: ChatRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    wire = _build(request, settings, api_key)
    return WireRequest(wire.url, wire.headers, {**wire.body, "stream": True})


def _stream_decoder() -> StreamDecoder:
    from promptctl.providers.anthropic_stream import MessagesDecoder

    return MessagesDecoder()


ADAPTER = Adapter(
    "anthropic",
    _build,
    _parse,
    build_stream_request=_build_stream,
    stream_decoder=_stream_decoder,
)
