"""Azure OpenAI: the deployment name replaces `model` in the URL; `api-key` header."""

from __future__ import annotations

from typing import Any

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import Adapter, WireRequest
from promptctl.providers.openai import parse_chat_completion, reasoning_body, stream_decoder

__all__ = ["ADAPTER", "DEFAULT_API_VERSION", "deployment_request"]

DEFAULT_API_VERSION = "2024-10-21"


def deployment_request(
    settings: ProviderSettings,
    deployment: str,
    operation: str,
    api_key: str | None,
    body: dict[str, Any],
) -> WireRequest:
    """`POST {base_url}/openai/deployments/{deployment}/{operation}?api-version=…` with
    the key in `api-key`: chat completions and embeddings alike."""
    if not settings.base_url:
        raise ProviderError(
            "config",
            f"provider {settings.name!r} (azure) has no base_url",
            provider=settings.name,
            hint="set base_url: https://<resource>.openai.azure.com",
        )
    version = settings.api_version or DEFAULT_API_VERSION
    url = (
        f"{settings.base_url.rstrip('/')}/openai/deployments/{deployment}"
        f"/{operation}?api-version={version}"
    )
    headers = {"content-type": "application/json", **settings.headers}
    if api_key:
        headers["api-key"] = api_key
    return WireRequest(url, headers, body)


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    body = reasoning_body(request)
    return deployment_request(settings, request.model, "chat/completions", api_key, body)


def _build_stream(
    request: ChatRequest, settings: ProviderSettings, api_key: str | None
) -> WireRequest:
    from promptctl.providers.openai_stream import streaming

    return streaming(_build(request, settings, api_key))


ADAPTER = Adapter(
    "azure",
    _build,
    parse_chat_completion,
    build_stream_request=_build_stream,
    stream_decoder=stream_decoder,
)
