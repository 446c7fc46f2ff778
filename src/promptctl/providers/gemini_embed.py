"""Gemini embeddings: `POST {base_url}/models/{model}:batchEmbedContents` (100 per request).

Every text is one `EmbedContentRequest` naming the model again (`models/{model}`, the API
requires it to match the URL's). Token counts arrive in `usageMetadata` only on newer
API versions: without them the usage, and so the cost, is unknown (never taken as 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import WireRequest, decode_json
from promptctl.providers.embeddings import EmbedParsed, EmbedRequest, EmbedWire, float_list
from promptctl.providers.gemini import _error as gemini_error
from promptctl.providers.shape import bad, count, obj, opt_list
from promptctl.providers.types import Usage

__all__ = ["GEMINI", "batch_embed_body"]

MAX_INPUTS = 100  # batchEmbedContents takes at most 100 requests


def batch_embed_body(request: EmbedRequest) -> dict[str, Any]:
    model = request.model if request.model.startswith("models/") else f"models/{request.model}"
    items: list[dict[str, Any]] = []
    for text in request.texts:
        item: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
        if request.dimensions is not None:
            item["outputDimensionality"] = request.dimensions
        if request.task_type is not None:
            item["taskType"] = request.task_type
        items.append(item)
    return {"requests": items}


def _build(request: EmbedRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    headers = {"content-type": "application/json", **settings.headers}
    if api_key:
        headers["x-goog-api-key"] = api_key
    base = (settings.base_url or "https://generativelanguage.googleapis.com/v1beta").rstrip("/")
    model = request.model.removeprefix("models/")
    url = f"{base}/models/{model}:batchEmbedContents"
    return WireRequest(url, headers, batch_embed_body(request))


def _parse(status: int, headers: Mapping[str, str], body: bytes) -> EmbedParsed:
    data = decode_json(body, status)
    if status >= 400 or (isinstance(data, Mapping) and "error" in data):
        raise gemini_error(status if status >= 400 else 500, headers, data)
    data = obj(data, "(body)")
    items = opt_list(data.get("embeddings"), "embeddings")
    if not items:
        raise bad("embeddings", "is missing or empty")
    vectors = [
        float_list(obj(e, f"embeddings[{i}]").get("values"), f"embeddings[{i}].values")
        for i, e in enumerate(items)
    ]
    meta = data.get("usageMetadata")
    prompt = count(meta, "promptTokenCount", required=True) if meta is not None else None
    return EmbedParsed(
        vectors=vectors, usage=Usage(input_tokens=prompt or 0), usage_known=prompt is not None
    )


GEMINI = EmbedWire(_build, _parse, MAX_INPUTS)
