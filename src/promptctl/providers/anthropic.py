"""Anthropic Messages (`POST {base_url}/v1/messages`).

The system prompt is top level, `max_tokens` is required (DEFAULT_MAX_TOKENS when the
prompt sets none), and usage reports cache reads and writes *apart from*
`input_tokens`: they are added back so `Usage.input_tokens` counts every prompt token.
A 429 for a reached spend limit is `quota`, never retried: waiting will not heal it.
Structured output is forced tool use (`_tool_fields`): the answer is the tool's input.
A tool result is a `tool_result` block in a user turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError, ProviderErrorKind
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ToolCall, ToolSpec, tool_call_from_object
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

__all__ = ["ADAPTER", "API_VERSION", "DEFAULT_MAX_TOKENS", "OUTPUT_TOOL", "answer_of"]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
# The tool a JSON Schema output is forced through (no JSON mode in the Messages API);
# the prompt-file loader refuses a tool of this name.
OUTPUT_TOOL = "promptctl_output"


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"  # a tool result is user's
        blocks = _blocks(m)
        if messages and messages[-1]["role"] == role:  # Anthropic wants alternating turns
            _merge(messages[-1]["content"], blocks)
        else:
            messages.append({"role": role, "content": blocks})
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
    body.update(_tool_fields(request))
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


def _blocks(m: ChatMessage) -> list[dict[str, Any]]:
    if m.role == "tool":
        return [{"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
    for c in m.tool_calls:
        blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.arguments)})
    return blocks or [{"type": "text", "text": ""}]


def _merge(into: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> None:
    """Two turns of one role become one: texts join with a blank line, tool blocks
    (results of parallel calls) follow each other."""
    for block in blocks:
        last = into[-1] if into else None
        if block["type"] == "text" and last is not None and last["type"] == "text":
            last["text"] += "\n\n" + block["text"]
        else:
            into.append(block)


def _tool_fields(request: ChatRequest) -> dict[str, Any]:
    """`tools`/`tool_choice`; a JSON Schema output (of an object) without tools is forced
    tool use: one tool, `OUTPUT_TOOL`, whose input schema is the output schema (`_parse`
    turns its input back into the answer's text)."""
    fmt = request.response_format
    if not request.tools:
        # a tool's input is an object: another root stays with the instructions alone
        if fmt.type == "json_schema" and fmt.schema and fmt.schema.get("type") == "object":
            tool = {
                "name": OUTPUT_TOOL,
                "description": "Give the answer: call this with the answer as its input.",
                "input_schema": dict(fmt.schema),
            }
            return {"tools": [tool], "tool_choice": {"type": "tool", "name": OUTPUT_TOOL}}
        return {}
    out: dict[str, Any] = {"tools": [_tool(t) for t in request.tools]}
    choice = request.tool_choice
    if choice is not None:
        kinds = {"auto": "auto", "none": "none", "required": "any"}
        out["tool_choice"] = (
            {"type": kinds[choice]} if choice in kinds else {"type": "tool", "name": choice}
        )
    return out


def _tool(tool: ToolSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = dict(tool.parameters)
    return out


def _parse(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, Mapping) and data.get("type") == "error"):
        raise _error(status if status >= 400 else 500, headers, data)
    data = obj(data, "(body)")
    if not isinstance(data.get("content"), list):
        raise bad("content", "is not an array")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, raw_block in enumerate(data["content"]):
        block = obj(raw_block, f"content[{i}]")
        if block.get("type") == "text":
            texts.append(opt_str(block.get("text"), f"content[{i}].text") or "")
        elif block.get("type") == "tool_use":
            calls.append(_tool_call(block, f"content[{i}]"))
    text, tool_calls = answer_of("".join(texts), calls)
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
    finish = _FINISH.get(str(data.get("stop_reason")), "other")
    if finish == "tool_calls" and not tool_calls:  # the forced output tool: an answer
        finish = "stop"
    return Parsed(
        text=text,
        finish_reason=finish,
        usage=usage,
        model_reported=opt_str(data.get("model"), "model") or "",
        request_id=headers.get("request-id") or opt_str(data.get("id"), "id"),
        usage_known=None not in counts,
        tool_calls=tool_calls,
    )


def _tool_call(block: Mapping[str, Any], field: str) -> ToolCall:
    name = opt_str(block.get("name"), field + ".name")
    if not name:
        raise bad(field + ".name", "is missing")
    call_id = opt_str(block.get("id"), field + ".id") or ""
    return tool_call_from_object(call_id, name, block.get("input"))


def answer_of(text: str, calls: list[ToolCall]) -> tuple[str, tuple[ToolCall, ...]]:
    """(text, tool calls) of an answer: a call of `OUTPUT_TOOL` (forced tool use for a
    JSON Schema output) is the answer itself, its input as JSON text. Shared with the
    streaming parser, which assembles the same blocks from deltas."""
    output = next((c for c in calls if c.name == OUTPUT_TOOL), None)
    if output is None:
        return text, tuple(calls)
    rest = tuple(c for c in calls if c is not output)
    return json.dumps(dict(output.arguments), ensure_ascii=False), rest


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
