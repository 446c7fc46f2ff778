"""Any server speaking Chat Completions at `{base_url}/chat/completions`.

Dialects cover the known quirks: Mistral names the seed `random_seed`; most local
servers (Ollama, vLLM, llama.cpp, LM Studio) read only `max_tokens` and ignore the key,
so a missing key is not an error for them unless `api_key_env` is configured. Mistral
also wants tool-call ids of 9 letters and digits (`_mistral_call_ids`). llama-cpp-python's
server refuses `response_format: {type: json_schema}` (HTTP 500) and takes the schema as
`{type: json_object, schema}` instead, which it enforces with a grammar. A server that
refuses `json_schema` without that dialect gets a `bad_request` (not retried: its HTTP 500
is no outage) saying which setting to add.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import Adapter, Parsed, WireRequest
from promptctl.providers.openai import (
    bearer_headers,
    chat_body,
    parse_chat_completion,
    stream_decoder,
)

__all__ = ["ADAPTER"]


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    if not settings.base_url:
        raise ProviderError(
            "config",
            f"provider {settings.name!r} (openai-compatible) has no base_url",
            provider=settings.name,
            hint="set base_url, e.g. http://127.0.0.1:8080/v1",
        )
    body = chat_body(request)
    if settings.dialect == "mistral" and "seed" in body:
        body["random_seed"] = body.pop("seed")
    if settings.dialect == "mistral":
        _mistral_call_ids(body["messages"])
    if settings.dialect == "ollama":
        body["stream"] = False
    if settings.dialect == "llama-cpp-python":
        _json_object_schema(body)
    url = f"{settings.base_url.rstrip('/')}/chat/completions"
    return WireRequest(url, bearer_headers(settings, api_key), body)


def _json_object_schema(body: dict[str, Any]) -> None:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        body["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}


def _mistral_call_ids(messages: list[dict[str, Any]]) -> None:
    """Mistral takes tool-call ids of exactly 9 letters and digits: an id another provider
    made (a conversation that fell back here) is replaced by 9 hex digits of its hash, the
    same for the call and its result; Mistral's own ids pass unchanged."""
    for m in messages:
        for call in m.get("tool_calls") or ():
            call["id"] = _short_id(call["id"])
        if m.get("role") == "tool":
            m["tool_call_id"] = _short_id(m["tool_call_id"])


def _short_id(call_id: str) -> str:
    if _MISTRAL_ID.fullmatch(call_id):
        return call_id
    return hashlib.sha256(call_id.encode()).hexdigest()[:9]


_MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")


_NO_JSON_SCHEMA = (
    "this server does not take OpenAI's `response_format: {type: json_schema}`: if it is "
    "llama-cpp-python's, add `dialect: llama-cpp-python` to the provider in promptctl.yaml "
    "(it then gets the schema as a json_object format); otherwise drop `output.schema` and "
    "keep `format: json`"
)


def _parse(status: int, headers: Mapping[str, str], body: bytes) -> Parsed:
    """Chat Completions' parse; a refused `json_schema` format is the request's fault."""
    try:
        return parse_chat_completion(status, headers, body)
    except ProviderError as exc:
        raw = exc.message.removeprefix(f"{exc.kind}: ")
        if status >= 400 and "response_format" in raw and "json_schema" in raw:
            raise ProviderError("bad_request", raw, status=status, hint=_NO_JSON_SCHEMA) from None
        raise


def _build_stream(
    request: ChatRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    """Mistral's API refuses unknown fields (`stream_options`) and reports usage anyway."""
    from promptctl.providers.openai_stream import streaming

    wire = _build(request, settings, api_key)
    return streaming(wire, include_usage=settings.dialect != "mistral")


ADAPTER = Adapter(
    "openai-compatible",
    _build,
    _parse,
    needs_key=False,
    build_stream_request=_build_stream,
    stream_decoder=stream_decoder,
)
