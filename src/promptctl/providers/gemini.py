"""Google Gemini `generateContent` (`POST {base_url}/models/{model}:generateContent`).

The key travels in the `x-goog-api-key` header, never in `?key=` (query strings end up in
logs and recordings). `thoughtsTokenCount` is reported apart from
`candidatesTokenCount` and billed as output, so it is added to `Usage.output_tokens`.
A prompt blocked by safety filters comes back as HTTP 200 with no candidates.
Tools are `functionDeclarations` (parameters converted by `gemini_schema`, as a JSON
Schema output is for `responseSchema`); `tool_choice` is `toolConfig`'s calling mode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.errors import ProviderError
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
    finite_seconds,
    retry_after_from_headers,
)
from promptctl.providers.shape import bad, count, obj, opt_list, opt_obj, opt_str
from promptctl.providers.types import FinishReason, Usage

__all__ = ["ADAPTER", "gemini_schema"]

_SCHEMA_KEYS = ("description", "format", "maxItems", "minItems", "required")


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema -> Gemini's OpenAPI-subset `Schema` (upper-case types, `nullable`).

    Keywords Gemini's `responseSchema` does not know (additionalProperties, $schema,
    minimum, pattern…) are dropped: the output is still validated against the full
    schema by the prompt's assertions.
    """
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        if len(non_null) < len(kind):
            out["nullable"] = True
        kind = non_null[0] if non_null else None
    if isinstance(kind, str):
        out["type"] = kind.upper()
    elif "enum" in schema:
        out["type"] = "STRING"
    if "enum" in schema:
        out["enum"] = [str(v) for v in schema["enum"] if v is not None]
        if None in schema["enum"]:
            out["nullable"] = True
    for key in _SCHEMA_KEYS:
        if key in schema:
            # int64 fields travel as JSON strings in Google's API (proto3 JSON mapping)
            out[key] = str(schema[key]) if key in ("maxItems", "minItems") else schema[key]
    props = schema.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {str(k): gemini_schema(v) for k, v in props.items()}
    items = schema.get("items")
    if isinstance(items, Mapping):
        out["items"] = gemini_schema(items)
    return out


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    body: dict[str, Any] = {"contents": _contents(request.messages)}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.seed is not None:
        config["seed"] = request.seed
    fmt = request.response_format
    if fmt.type in ("json", "json_schema"):
        config["responseMimeType"] = "application/json"
    if fmt.type == "json_schema" and fmt.schema is not None:
        converted = gemini_schema(fmt.schema)
        if _objects_have_properties(converted):
            config["responseSchema"] = converted
    if request.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in request.tools]}]
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(request.tool_choice)}
    extra = dict(request.extra)
    config.update(extra.pop("generationConfig", {}) or {})
    if config:
        body["generationConfig"] = config
    body.update(extra)
    headers = {"content-type": "application/json", **settings.headers}
    if api_key:
        headers["x-goog-api-key"] = api_key
    base = (settings.base_url or "https://generativelanguage.googleapis.com/v1beta").rstrip("/")
    return WireRequest(f"{base}/models/{request.model}:generateContent", headers, body)


def _objects_have_properties(schema: Mapping[str, Any]) -> bool:
    """Gemini answers 400 to an OBJECT without properties anywhere in `responseSchema`
    ("should be non-empty for OBJECT type"): such a schema is left out (JSON mode alone;
    the answer is still validated against the full schema)."""
    if schema.get("type") == "OBJECT" and not schema.get("properties"):
        return False
    children = [*(schema.get("properties") or {}).values()]
    if isinstance(schema.get("items"), Mapping):
        children.append(schema["items"])
    return all(_objects_have_properties(c) for c in children)


def _contents(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Turns as `contents`: an assistant's tool calls are `functionCall` parts, tool
    results `functionResponse` parts of a user turn (results of parallel calls share one).
    Gemini matches a result to its call by the function's name, so a result without
    `name` takes the name of the call its `tool_call_id` answers."""
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "", "")
            part = {"functionResponse": {"name": name, "response": {"output": _result(m.content)}}}
            if out and out[-1]["role"] == "user" and "functionResponse" in out[-1]["parts"][-1]:
                out[-1]["parts"].append(part)
            else:
                out.append({"role": "user", "parts": [part]})
            continue
        parts: list[dict[str, Any]] = [{"text": m.content}] if m.content or not m.tool_calls else []
        for c in m.tool_calls:
            parts.append({"functionCall": {"name": c.name, "args": dict(c.arguments)}})
        out.append({"role": "model" if m.role == "assistant" else "user", "parts": parts})
    return out


def _result(content: str) -> Any:
    """A tool's result as JSON when it is JSON (Gemini reads structured output), else text."""
    try:
        return json.loads(content)
    except ValueError:
        return content


def _declaration(tool: ToolSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    if tool.parameters.get("properties"):  # Gemini refuses an object with no properties
        out["parameters"] = gemini_schema(tool.parameters)
    return out


def _calling_config(choice: str) -> dict[str, Any]:
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if choice in modes:
        return {"mode": modes[choice]}
    return {"mode": "ANY", "allowedFunctionNames": [choice]}


_FINISH: Mapping[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "MALFORMED_FUNCTION_CALL": "other",
}


def _parse(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, Mapping) and "error" in data):
        raise _error(status if status >= 400 else 500, headers, data)
    data = obj(data, "(body)")
    candidates = opt_list(data.get("candidates"), "candidates")
    if not candidates:
        feedback = opt_obj(data.get("promptFeedback"), "promptFeedback")
        block = opt_str(feedback.get("blockReason"), "promptFeedback.blockReason")
        if block:
            raise ProviderError("content_filter", f"prompt blocked: {block}", status=status)
        raise bad("candidates", "is missing or empty")
    first = obj(candidates[0], "candidates[0]")
    content = opt_obj(first.get("content"), "candidates[0].content")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, raw_part in enumerate(opt_list(content.get("parts"), "candidates[0].content.parts")):
        field = f"candidates[0].content.parts[{i}]"
        part = obj(raw_part, field)
        if "functionCall" in part:
            calls.append(_tool_call(part["functionCall"], field + ".functionCall", len(calls)))
        elif not part.get("thought"):
            texts.append(opt_str(part.get("text"), field + ".text") or "")
    meta = data.get("usageMetadata")
    counts = (
        count(meta, "promptTokenCount", required=True),
        count(meta, "candidatesTokenCount"),  # absent when nothing was generated
        count(meta, "cachedContentTokenCount"),
        count(meta, "thoughtsTokenCount"),
    )
    inp, out, cached, thoughts = (n or 0 for n in counts)
    usage = Usage(
        input_tokens=inp,
        output_tokens=out + thoughts,
        cached_input_tokens=cached,
        reasoning_tokens=thoughts,
    )
    finish = _FINISH.get(str(first.get("finishReason")), "other")
    if calls and finish == "stop":  # Gemini says STOP after function calls too
        finish = "tool_calls"
    return Parsed(
        text="".join(texts),
        finish_reason=finish,
        usage=usage,
        model_reported=opt_str(data.get("modelVersion"), "modelVersion") or "",
        request_id=opt_str(data.get("responseId"), "responseId"),
        usage_known=meta is not None and None not in counts,
        tool_calls=tuple(calls),
    )


def _tool_call(value: Any, field: str, index: int) -> ToolCall:
    """A `functionCall` part; Gemini sends no id before its newer API versions, so the
    call's position stands in (`call_<n>`) for matching results to calls."""
    call = obj(value, field)
    name = opt_str(call.get("name"), field + ".name")
    if not name:
        raise bad(field + ".name", "is missing")
    call_id = opt_str(call.get("id"), field + ".id") or f"call_{index}"
    args = call.get("args")
    if args is None:
        return ToolCall(call_id, name, {})
    return tool_call_from_object(call_id, name, args)


def _retry_delay(details: Any) -> float | None:
    for item in details if isinstance(details, list) else []:
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = re.fullmatch(r"([0-9.]+)s", str(item.get("retryDelay", "")))
            if match:
                try:  # "1..2s", "1e400s": a server's text, not always a number
                    return finite_seconds(float(match.group(1)))
                except ValueError:
                    return None
    return None


def _error(status: int, headers: Mapping[str, str], data: Any) -> ProviderError:
    err = data.get("error") if isinstance(data, Mapping) else None
    err = err if isinstance(err, Mapping) else {}
    message = str(err.get("message") or data)
    retry_after = _retry_delay(err.get("details"))
    if retry_after is None:
        retry_after = retry_after_from_headers(headers)
    return error_for_status(status, message, retry_after_s=retry_after)


def _build_stream(
    request: ChatRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    from promptctl.providers.gemini_stream import streaming

    return streaming(_build(request, settings, api_key))


def _stream_decoder() -> StreamDecoder:
    from promptctl.providers.gemini_stream import StreamGenerateDecoder

    return StreamGenerateDecoder()


ADAPTER = Adapter(
    "gemini",
    _build,
    _parse,
    build_stream_request=_build_stream,
    stream_decoder=_stream_decoder,
)
