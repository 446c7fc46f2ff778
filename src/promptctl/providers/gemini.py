"""Google Gemini `generateContent` (`POST {base_url}/models/{model}:generateContent`).

The key travels in the `x-goog-api-key` header, never in `?key=` (query strings end up in
logs and recordings). `thoughtsTokenCount` is reported apart from
`candidatesTokenCount` and billed as output, so it is added to `Usage.output_tokens`.
A prompt blocked by safety filters comes back as HTTP 200 with no candidates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError
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
        out["enum"] = [str(v) for v in schema["enum"]]
    for key in _SCHEMA_KEYS:
        if key in schema:
            out[key] = schema[key]
    props = schema.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {str(k): gemini_schema(v) for k, v in props.items()}
    items = schema.get("items")
    if isinstance(items, Mapping):
        out["items"] = gemini_schema(items)
    return out


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    contents = [
        {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
        for m in request.messages
        if m.role != "system"
    ]
    body: dict[str, Any] = {"contents": contents}
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
        config["responseSchema"] = gemini_schema(fmt.schema)
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
    for i, raw_part in enumerate(opt_list(content.get("parts"), "candidates[0].content.parts")):
        field = f"candidates[0].content.parts[{i}]"
        part = obj(raw_part, field)
        if not part.get("thought"):
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
    return Parsed(
        text="".join(texts),
        finish_reason=_FINISH.get(str(first.get("finishReason")), "other"),
        usage=usage,
        model_reported=opt_str(data.get("modelVersion"), "modelVersion") or "",
        request_id=opt_str(data.get("responseId"), "responseId"),
        usage_known=meta is not None and None not in counts,
    )


def _retry_delay(details: Any) -> float | None:
    for item in details if isinstance(details, list) else []:
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = re.fullmatch(r"([0-9.]+)s", str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
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
