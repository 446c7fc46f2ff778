"""OpenAI Chat Completions (`POST {base_url}/chat/completions`).

Reasoning models (o1, o3, o4, gpt-5*) reject `max_tokens` and take `max_completion_tokens`
instead, which bounds visible and reasoning tokens together; they also reject a
`temperature` or `top_p` other than 1, so those are left out for them (a prompt written
for gpt-4o with `temperature: 0` still runs when it falls back to o4-mini). The parse side is shared
with Azure and every OpenAI-compatible server, so it treats every usage field as optional.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError
from promptctl.providers.base import (
    Adapter,
    Parsed,
    WireRequest,
    decode_json,
    error_for_status,
    retry_after_from_headers,
)
from promptctl.providers.types import ChatRequest, FinishReason, Usage
from promptctl.spec.model import ProviderSettings

__all__ = [
    "ADAPTER",
    "chat_body",
    "is_reasoning_model",
    "parse_chat_completion",
    "reasoning_body",
]

_REASONING = re.compile(r"^(o1|o3|o4|gpt-5)([-.].*)?$")


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING.match(model.rsplit("/", 1)[-1]))


def chat_body(request: ChatRequest, *, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """The Chat Completions body shared by OpenAI, Azure and compatible servers."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
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
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.name, "schema": dict(fmt.schema or {}), "strict": True},
        }
    body.update(request.extra)
    return body


def reasoning_body(request: ChatRequest) -> dict[str, Any]:
    """The body for OpenAI's own API (and Azure): reasoning models get their field set."""
    if not is_reasoning_model(request.model):
        return chat_body(request)
    body = chat_body(request, max_tokens_field="max_completion_tokens")
    for key in ("temperature", "top_p"):
        if body.get(key) not in (None, 1, 1.0):
            del body[key]
    return body


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    headers = {"content-type": "application/json", **settings.headers}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    base = (settings.base_url or "https://api.openai.com/v1").rstrip("/")
    return WireRequest(f"{base}/chat/completions", headers, reasoning_body(request))


_FINISH: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "model_length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def _int(data: Any, *path: str) -> int:
    for key in path:
        if not isinstance(data, Mapping):
            return 0
        data = data.get(key)
    return data if isinstance(data, int) else 0


def parse_chat_completion(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, dict) and "error" in data and "choices" not in data):
        raise _error(status if status >= 400 else 500, headers, data)
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise ProviderError("bad_response", "response has no choices[0].message") from None
    content = message.get("content") if isinstance(message, Mapping) else None
    finish = _FINISH.get(str(choice.get("finish_reason")), "other")
    if content is None and message.get("refusal"):
        content, finish = str(message["refusal"]), "content_filter"
    usage = data.get("usage") or {}
    return Parsed(
        text=content if isinstance(content, str) else "",
        finish_reason=finish,
        usage=Usage(
            input_tokens=_int(usage, "prompt_tokens"),
            output_tokens=_int(usage, "completion_tokens"),
            cached_input_tokens=_int(usage, "prompt_tokens_details", "cached_tokens"),
            reasoning_tokens=_int(usage, "completion_tokens_details", "reasoning_tokens"),
        ),
        model_reported=str(data.get("model") or ""),
        request_id=headers.get("x-request-id") or data.get("id"),
    )


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


ADAPTER = Adapter("openai", _build, parse_chat_completion)
