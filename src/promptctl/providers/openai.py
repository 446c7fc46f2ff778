"""OpenAI Chat Completions (`POST {base_url}/chat/completions`).

Reasoning models (o1, o3, o4, gpt-5*) reject `max_tokens` and take `max_completion_tokens`
instead, which bounds visible and reasoning tokens together; they also reject a
`temperature` or `top_p` other than 1, so those are left out for them (a prompt written
for gpt-4o with `temperature: 0` still runs when it falls back to o4-mini). The parse side is shared
with Azure and every OpenAI-compatible server; a server that sends no usage (some local
ones) leaves the cost unknown rather than free. A JSON Schema output (and a tool's
parameters) is sent with `strict: true` only when OpenAI accepts it strictly
(`openai_strict`); otherwise `strict: false`, as OpenAI would answer 400.
"""

from __future__ import annotations

import functools
import json
import re
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
from promptctl.providers.openai_strict import is_strict_compatible
from promptctl.providers.shape import bad, count, obj, opt_list, opt_str
from promptctl.providers.types import FinishReason, Usage

__all__ = [
    "ADAPTER",
    "chat_body",
    "is_reasoning_model",
    "parse_chat_completion",
    "reasoning_body",
    "stream_decoder",
]

_REASONING = re.compile(r"^(o1|o3|o4|gpt-5)([-.].*)?$")


@functools.lru_cache(maxsize=256)  # asked for every request; a project has a few models
def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING.match(model.rsplit("/", 1)[-1]))


def chat_body(request: ChatRequest, *, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """The Chat Completions body shared by OpenAI, Azure and compatible servers."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [_message(m) for m in request.messages],
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    fmt = request.response_format
    if fmt.type == "json":
        body["response_format"] = {"type": "json_object"}
    elif fmt.type == "json_schema":
        schema = fmt.schema or {}
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": fmt.name,
                "schema": dict(schema),
                "strict": is_strict_compatible(schema),
            },
        }
    if request.tools:  # a tool_choice without tools is a 400: sent only with them
        body["tools"] = [_tool(t) for t in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    body.update(request.extra)
    return body


def _message(m: ChatMessage) -> dict[str, Any]:
    """One message; an assistant's tool calls and a tool's result in Chat's shape."""
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    if m.role == "assistant" and m.tool_calls:
        return {
            "role": "assistant",
            "content": m.content or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": json.dumps(dict(c.arguments), ensure_ascii=False),
                    },
                }
                for c in m.tool_calls
            ],
        }
    return {"role": m.role, "content": m.content}


def _tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = dict(tool.parameters)
    if is_strict_compatible(tool.parameters):
        function["strict"] = True
    return {"type": "function", "function": function}


def _tool_choice(choice: str) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def reasoning_body(request: ChatRequest) -> dict[str, Any]:
    """The body for OpenAI's own API (and Azure): reasoning models get their field set."""
    if not is_reasoning_model(request.model):
        return chat_body(request)
    body = chat_body(request, max_tokens_field="max_completion_tokens")
    for key in ("temperature", "top_p"):
        if body.get(key) not in (None, 1, 1.0):
            del body[key]
    return body


def api_base(settings: ProviderSettings) -> str:
    """The API root every OpenAI endpoint hangs off (chat, responses, embeddings, batch)."""
    return (settings.base_url or "https://api.openai.com/v1").rstrip("/")


def bearer_headers(settings: ProviderSettings, api_key: str | None) -> dict[str, str]:
    """JSON, the configured `headers:`, and the key as a bearer token (a local server
    that takes no key gets none)."""
    headers = {"content-type": "application/json", **settings.headers}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    url = f"{api_base(settings)}/chat/completions"
    return WireRequest(url, bearer_headers(settings, api_key), reasoning_body(request))


_FINISH: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "model_length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def parse_chat_completion(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, dict) and "error" in data and "choices" not in data):
        raise _error(status if status >= 400 else 500, headers, data)
    data = obj(data, "(body)")
    choices = opt_list(data.get("choices"), "choices")
    if not choices:
        raise bad("choices", "is missing or empty")
    choice = obj(choices[0], "choices[0]")
    message = obj(choice.get("message"), "choices[0].message")
    content = _content(message.get("content"))
    refusal = opt_str(message.get("refusal"), "choices[0].message.refusal")
    finish = _FINISH.get(str(choice.get("finish_reason")), "other")
    if content is None and refusal:
        content, finish = refusal, "content_filter"
    calls = _tool_calls(message.get("tool_calls"))
    raw = data.get("usage")
    counts = (
        count(raw, "prompt_tokens", required=True),
        count(raw, "completion_tokens", required=True),
        count(raw, "prompt_tokens_details", "cached_tokens"),
        count(raw, "completion_tokens_details", "reasoning_tokens"),
    )
    inp, out, cached, reasoning = (n or 0 for n in counts)
    return Parsed(
        text=content or "",
        finish_reason=finish,
        usage=Usage(
            input_tokens=inp,
            output_tokens=out,
            cached_input_tokens=cached,
            reasoning_tokens=reasoning,
        ),
        model_reported=opt_str(data.get("model"), "model") or "",
        request_id=headers.get("x-request-id") or opt_str(data.get("id"), "id"),
        usage_known=None not in counts,
        tool_calls=calls,
    )


def _tool_calls(value: Any) -> tuple[ToolCall, ...]:
    """`message.tool_calls`: arguments arrive as a JSON string, parsed and flagged here."""
    out = []
    for i, raw in enumerate(opt_list(value, "choices[0].message.tool_calls")):
        field = f"choices[0].message.tool_calls[{i}]"
        call = obj(raw, field)
        function = obj(call.get("function"), field + ".function")
        name = opt_str(function.get("name"), field + ".function.name")
        if not name:
            raise bad(field + ".function.name", "is missing")
        arguments = function.get("arguments")
        if isinstance(arguments, Mapping):  # some compatible servers send an object
            arguments = json.dumps(arguments)
        raw_args = opt_str(arguments, field + ".function.arguments") or ""
        call_id = opt_str(call.get("id"), field + ".id") or f"call_{i}"
        out.append(tool_call_from_json(call_id, name, raw_args))
    return tuple(out)


def _content(value: Any) -> str | None:
    """A message's content: a string, null, or (some compatible servers) text parts."""
    if value is None or isinstance(value, str):
        return value
    parts = opt_list(value, "choices[0].message.content")
    texts: list[str] = []
    for i, part in enumerate(parts):
        field = f"choices[0].message.content[{i}]"
        texts.append(opt_str(obj(part, field).get("text"), field + ".text") or "")
    return "".join(texts)


def _error(status: int, headers: Mapping[str, str], data: Any) -> ProviderError:
    err = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(err, Mapping):
        message = str(err.get("message") or err)
        code = str(err.get("code") or err.get("type") or "")
    elif isinstance(data, Mapping):
        message = str(data.get("message") or data.get("detail") or data)
        code = str(data.get("code") or "")
    else:
        message, code = str(data), ""
    return error_for_status(
        status, message, code=code, retry_after_s=retry_after_from_headers(headers)
    )


def build_stream(
    request: ChatRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    from promptctl.providers.openai_stream import streaming

    return streaming(_build(request, settings, api_key))


def stream_decoder() -> StreamDecoder:
    """The Chat Completions stream decoder (imported on first use, as adapters are)."""
    from promptctl.providers.openai_stream import ChatCompletionsDecoder

    return ChatCompletionsDecoder()


ADAPTER = Adapter(
    "openai",
    _build,
    parse_chat_completion,
    build_stream_request=build_stream,
    stream_decoder=stream_decoder,
)
