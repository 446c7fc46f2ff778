"""ChatResponse <-> plain JSON data, for the cache and for recordings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.errors import ProviderError
from promptctl.plan.request import plain_data
from promptctl.providers.types import ChatResponse, SkippedTarget, ToolCall, Usage

__all__ = ["response_from_data", "response_to_data"]


def response_to_data(response: ChatResponse) -> dict[str, Any]:
    data: dict[str, Any] = plain_data(response)
    data.pop("cached", None)
    data.pop("ttft_ms", None)  # a measurement of that one call, like `cached`
    return data


def response_from_data(data: Mapping[str, Any], *, cached: bool = False) -> ChatResponse:
    """The stored answer; `cached` marks it as read back (the cache does, so a hit is not
    copied once more by `replace` to say so)."""
    try:
        fields = dict(data)
        fields["cached"] = cached
        fields["usage"] = Usage(**fields.get("usage", {}))
        fields["fallbacks_tried"] = tuple(
            SkippedTarget(**s) for s in fields.get("fallbacks_tried", ())
        )
        fields["tool_calls"] = tuple(ToolCall(**c) for c in fields.get("tool_calls", ()))
        return ChatResponse(**fields)
    except TypeError as exc:
        raise ProviderError("bad_response", f"stored response is malformed: {exc}") from None
