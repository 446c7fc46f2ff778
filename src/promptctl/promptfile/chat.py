"""The chat messages and response format a prompt file renders to.

They belong to the prompt format (what `render` produces and `output:` asks for), so
the layers below the providers can build them without importing any provider code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ChatMessage", "ResponseFormat"]


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class ResponseFormat:
    """`text`, `json` (any JSON object) or `json_schema` (with `schema`)."""

    type: Literal["text", "json", "json_schema"] = "text"
    schema: Mapping[str, Any] | None = None
    name: str = "output"
