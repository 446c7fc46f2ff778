"""Azure OpenAI: the deployment name replaces `model` in the URL; `api-key` header."""

from __future__ import annotations

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import Adapter, WireRequest
from promptctl.providers.openai import parse_chat_completion, reasoning_body, stream_decoder

__all__ = ["ADAPTER", "DEFAULT_API_VERSION"]

DEFAULT_API_VERSION = "2024-10-21"


def _build(request: ChatRequest, settings: ProviderSettings, api_key: str | None) -> WireRequest:
    if not settings.base_url:
        raise ProviderError(
            "config",
            f"provider {settings.name!r} (azure) has no base_url",
            provider=settings.name,
            hint="set base_url: https://<resource>.openai.azure.com",
        )
    version = settings.api_version or DEFAULT_API_VERSION
    url = (
        f"{settings.base_url.rstrip('/')}/openai/deployments/{request.model}"
        f"/chat/completions?api-version={version}"
    )
    headers = {"content-type": "application/json", **settings.headers}
    if api_key:
        headers["api-key"] = api_key
    body = reasoning_body(request)
    return WireRequest(url, headers, body)


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
