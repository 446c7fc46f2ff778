"""OpenAI Responses API (`POST {base_url}/responses`), provider kind `openai-responses`.

Leading system messages become `instructions`; the rest of the conversation is `input`
(one message item per turn; an assistant's tool calls are `function_call` items and a
tool's result a `function_call_output` item, joined by `call_id`). Tools are flat
function tools; `function_call` output items come back as the answer's tool calls.
Structured output moved to `text.format` (`strict` only for a strict-compatible schema,
as on Chat Completions); the token limit is `max_output_tokens`, which bounds reasoning
and visible tokens together. Reasoning models get the same treatment as on Chat
Completions (no temperature/top_p other than 1).
`store: false` is sent unless the prompt's params say otherwise: promptctl never reads a
stored response back (no `previous_response_id`), so there is no reason to leave the
conversation on OpenAI's servers for 30 days.

The API has no `stop` sequences and no `seed`: a request carrying either is refused
with the fix (`bad_request`, no call is made) instead of being sent without them.
Streaming (`"stream": true`) is decoded by `openai_responses_stream`. A 200 answer can
still be a failure: `status: failed` carries an `error` object, mapped
like an HTTP error of the same meaning; `status: incomplete` is a (billed) answer cut
short, whose `incomplete_details.reason` gives the finish reason. Usage counts are
normalised as on Chat Completions: `input_tokens` includes `cached_tokens` (and cache
writes), `output_tokens` includes `reasoning_tokens`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ToolCall, ToolSpec, tool_call_from_json
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import (
    Adapter,
    Parsed,
    StreamDecoder,
    WireRequest,
    decode_json,
    error_for_status,
    retry_after_from_headers,
)
from promptctl.providers.openai import api_base, bearer_headers, is_reasoning_model
from promptctl.providers.openai_strict import is_strict_compatible
from promptctl.providers.shape import bad, count, obj, opt_list, opt_obj, opt_str
from promptctl.providers.types import FinishReason, Usage

__all__ = ["ADAPTER", "UNSUPPORTED_PARAMS", "parse_response", "read_response", "responses_body"]


# params of a prompt the Responses API has no field for (lint reports them: PC025)
UNSUPPORTED_PARAMS = ("stop", "seed")


def responses_body(request: ChatRequest) -> dict[str, Any]:
    """The `CreateResponse` body for a provider-neutral request."""
    values = {"stop": request.stop, "seed": request.seed}
    unsupported = [name for name in UNSUPPORTED_PARAMS if values[name]]
    if unsupported:
        raise ProviderError(
            "bad_request",
            f"the OpenAI Responses API has no {' or '.join(unsupported)} parameter",
            model=request.model,
            hint=f"remove {', '.join(unsupported)} from the prompt's params for this target, "
            "or use a provider of kind openai (Chat Completions)",
        )
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system" and not items:
            instructions.append(m.content)
        else:
            items += _items(m)
    body: dict[str, Any] = {"model": request.model, "input": items, "store": False}
    if instructions:
        body["instructions"] = "\n\n".join(instructions)
    reasoning = is_reasoning_model(request.model)
    for key, value in (("temperature", request.temperature), ("top_p", request.top_p)):
        if value is not None and not (reasoning and value != 1):
            body[key] = value
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    fmt = request.response_format
    if fmt.type == "json":
        body["text"] = {"format": {"type": "json_object"}}
    elif fmt.type == "json_schema":
        schema = fmt.schema or {}
        body["text"] = {
            "format": {
                "type": "json_schema",
                "name": fmt.name,
                "schema": dict(schema),
                "strict": is_strict_compatible(schema),
            }
        }
    if request.tools:
        body["tools"] = [_tool(t) for t in request.tools]
    if request.tool_choice is not None:
        choice = request.tool_choice
        body["tool_choice"] = (
            choice
            if choice in ("auto", "none", "required")
            else {"type": "function", "name": choice}
        )
    body.update(request.extra)
    return body


def _items(m: ChatMessage) -> list[dict[str, Any]]:
    """One message as input items: a tool's result is a `function_call_output`; an
    assistant's tool calls are `function_call` items after its text (if any)."""
    if m.role == "tool":
        return [
            {"type": "function_call_output", "call_id": m.tool_call_id or "", "output": m.content}
        ]
    items: list[dict[str, Any]] = []
    if m.content or not m.tool_calls:
        items.append({"type": "message", "role": m.role, "content": m.content})
    for call in m.tool_calls:
        arguments = json.dumps(dict(call.arguments), ensure_ascii=False)
        items.append(
            {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": arguments}
        )
    return items


def _tool(tool: ToolSpec) -> dict[str, Any]:
    """A function tool, flat (`name`, `parameters` at the top, unlike Chat's `function`)."""
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = dict(tool.parameters)
    out["strict"] = is_strict_compatible(tool.parameters)
    return out


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    url = f"{api_base(settings)}/responses"
    return WireRequest(url, bearer_headers(settings, api_key), responses_body(request))


_INCOMPLETE: Mapping[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
# `status: failed` error codes -> the HTTP status whose meaning they carry
_FAILED_STATUS: Mapping[str, int] = {
    "server_error": 500,
    "rate_limit_exceeded": 429,
    "vector_store_timeout": 504,
}


def parse_response(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    data = decode_json(body, status)
    if status >= 400:
        raise _error(status, headers, data)
    return read_response(obj(data, "(body)"), headers.get("x-request-id"))


def read_response(data: Mapping[str, Any], request_id: str | None = None) -> Parsed:
    """A `Response` object (the body, or a stream's `response.completed` event) as `Parsed`;
    a failed one raises the error of its kind."""
    state = opt_str(data.get("status"), "status") or "completed"
    if state == "failed" or (data.get("error") and "output" not in data):
        raise _error(500, {}, data)
    if state not in ("completed", "incomplete"):
        raise bad("status", f"is {state!r}: only finished (non-background) responses are read")
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[ToolCall] = []
    for i, raw_item in enumerate(opt_list(data.get("output"), "output")):
        item = obj(raw_item, f"output[{i}]")
        kind = item.get("type")
        if kind == "function_call":
            calls.append(_call(item, f"output[{i}]"))
        if kind != "message":
            continue  # reasoning summaries and built-in tool items carry no answer text
        for j, raw_part in enumerate(opt_list(item.get("content"), f"output[{i}].content")):
            field = f"output[{i}].content[{j}]"
            part = obj(raw_part, field)
            if part.get("type") == "output_text":
                texts.append(opt_str(part.get("text"), field + ".text") or "")
            elif part.get("type") == "refusal":
                refusals.append(opt_str(part.get("refusal"), field + ".refusal") or "")
    finish: FinishReason = "tool_calls" if calls else "stop"
    if state == "incomplete":
        details = opt_obj(data.get("incomplete_details"), "incomplete_details")
        finish = _INCOMPLETE.get(str(details.get("reason")), "other")
    if not texts and refusals:
        texts, finish = refusals, "content_filter"
    raw = data.get("usage")
    counts = (
        count(raw, "input_tokens", required=True),
        count(raw, "output_tokens", required=True),
        count(raw, "input_tokens_details", "cached_tokens"),
        count(raw, "input_tokens_details", "cache_write_tokens"),
        count(raw, "output_tokens_details", "reasoning_tokens"),
    )
    inp, out, cached, writes, reasoning = (n or 0 for n in counts)
    return Parsed(
        text="".join(texts),
        finish_reason=finish,
        usage=Usage(
            input_tokens=inp,
            output_tokens=out,
            cached_input_tokens=cached,
            cache_write_tokens=writes,
            reasoning_tokens=reasoning,
        ),
        model_reported=opt_str(data.get("model"), "model") or "",
        request_id=request_id or opt_str(data.get("id"), "id"),
        usage_known=None not in counts,
        tool_calls=tuple(calls),
    )


def _call(item: Mapping[str, Any], field: str) -> ToolCall:
    """A `function_call` output item: arguments arrive as a JSON string (flagged if bad)."""
    call_id = opt_str(item.get("call_id"), field + ".call_id") or ""
    name = opt_str(item.get("name"), field + ".name")
    if not call_id or not name:
        raise bad(field, "is a function call without call_id or name")
    return tool_call_from_json(
        call_id, name, opt_str(item.get("arguments"), field + ".arguments") or ""
    )


def _error(status: int, headers: Mapping[str, str], data: Any) -> ProviderError:
    """An HTTP error's envelope, or a 200 answer's `status: failed` error object."""
    err = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(err, Mapping):
        message = str(err.get("message") or err)
        code = str(err.get("code") or err.get("type") or "")
    else:
        message, code = str(data), ""
    if status == 500 and code in _FAILED_STATUS:  # a `status: failed` answer
        status = _FAILED_STATUS[code]
    elif status == 500 and (code in ("invalid_prompt", "bio_policy") or "image" in code):
        status = 400  # the request (its prompt or an image) was at fault: no failover
        code = "content_filter" if code == "bio_policy" else code
    return error_for_status(
        status, message, code=code, retry_after_s=retry_after_from_headers(headers)
    )


def _build_stream(
    request: ChatRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    """The same request asking for server-sent events (usage comes with the last one)."""
    wire = _build(request, settings, api_key)
    return WireRequest(wire.url, wire.headers, {**wire.body, "stream": True})


def _stream_decoder() -> StreamDecoder:
    """The Responses API stream decoder (imported on first use, as adapters are)."""
    from promptctl.providers.openai_responses_stream import ResponsesDecoder

    return ResponsesDecoder()


ADAPTER = Adapter(
    "openai-responses",
    _build,
    parse_response,
    build_stream_request=_build_stream,
    stream_decoder=_stream_decoder,
    unsupported_params=UNSUPPORTED_PARAMS,
)
