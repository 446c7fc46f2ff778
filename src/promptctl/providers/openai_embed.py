"""OpenAI embeddings (`POST {base_url}/embeddings`), also Azure and compatible servers.

OpenAI's own API (and Azure) is asked for `encoding_format: base64`, as OpenAI's SDK
does: each vector arrives as packed little-endian float32, several times smaller and
faster to decode than a JSON array of decimals. Compatible servers (Ollama, vLLM,
LiteLLM, Voyage, …) do not all support it and get the default float arrays.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.azure import deployment_request
from promptctl.providers.base import WireRequest, decode_json
from promptctl.providers.embeddings import (
    EmbedParsed,
    EmbedRequest,
    EmbedWire,
    finite_vector,
    float_list,
)
from promptctl.providers.openai import _error as openai_error
from promptctl.providers.openai import api_base, bearer_headers
from promptctl.providers.shape import bad, count, obj, opt_list, opt_str
from promptctl.providers.types import Usage

__all__ = ["AZURE", "COMPATIBLE", "OPENAI", "embeddings_body"]

MAX_INPUTS = 2048  # CreateEmbeddingRequest: `input` arrays have at most 2048 items


def embeddings_body(request: EmbedRequest, *, base64_floats: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "input": list(request.texts)}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if base64_floats:
        body["encoding_format"] = "base64"
    return body


def _build_openai(
    request: EmbedRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    body = embeddings_body(request, base64_floats=True)
    return WireRequest(f"{api_base(settings)}/embeddings", bearer_headers(settings, api_key), body)


def _build_azure(
    request: EmbedRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    body = embeddings_body(request, base64_floats=True)
    return deployment_request(settings, request.model, "embeddings", api_key, body)


def _build_compatible(
    request: EmbedRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    if not settings.base_url:
        raise ProviderError(
            "config",
            f"provider {settings.name!r} (openai-compatible) has no base_url",
            provider=settings.name,
            hint="set base_url, e.g. http://127.0.0.1:8080/v1",
        )
    body = embeddings_body(request, base64_floats=False)
    url = f"{settings.base_url.rstrip('/')}/embeddings"
    return WireRequest(url, bearer_headers(settings, api_key), body)


def parse_embeddings(status: int, headers: Mapping[str, str], body: bytes) -> EmbedParsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, Mapping) and "error" in data and "data" not in data):
        raise openai_error(status if status >= 400 else 500, headers, data)
    data = obj(data, "(body)")
    items = opt_list(data.get("data"), "data")
    if not items:
        raise bad("data", "is missing or empty")
    vectors: list[list[float] | None] = [None] * len(items)
    for i, raw in enumerate(items):
        item = obj(raw, f"data[{i}]")
        index = item.get("index", i)
        if not isinstance(index, int) or not 0 <= index < len(items) or vectors[index]:
            raise bad(f"data[{i}].index", "is not a distinct position in the batch")
        vectors[index] = _vector(item.get("embedding"), f"data[{i}].embedding")
    prompt = count(data.get("usage"), "prompt_tokens", required=True)
    return EmbedParsed(
        vectors=[v for v in vectors if v is not None],
        usage=Usage(input_tokens=prompt or 0),
        model_reported=opt_str(data.get("model"), "model") or "",
        usage_known=prompt is not None,
    )


def _vector(value: Any, field: str) -> list[float]:
    if not isinstance(value, str):
        return float_list(value, field)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise bad(field, "is not base64") from None
    if not raw or len(raw) % 4:
        raise bad(field, "is not a whole number of float32 values")
    floats = array("f")
    floats.frombytes(raw)
    if sys.byteorder == "big":  # pragma: no cover - the wire is little-endian
        floats.byteswap()
    return finite_vector(floats.tolist(), field)  # NaN and infinities are float32 bits too


OPENAI = EmbedWire(_build_openai, parse_embeddings, MAX_INPUTS)
AZURE = EmbedWire(_build_azure, parse_embeddings, MAX_INPUTS)
COMPATIBLE = EmbedWire(_build_compatible, parse_embeddings, MAX_INPUTS)
