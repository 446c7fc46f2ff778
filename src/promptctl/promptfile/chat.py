"""The chat messages, tools and response format a prompt file renders to.

They belong to the prompt format (what `render` produces, what `tools:` and `output:`
ask for), so the layers below the providers can build them without importing any
provider code. `ToolCall` lives here too: an assistant message in a conversation's
history carries the tool calls it made, and the application sends them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from promptctl.promptfile import strict_json

__all__ = [
    "ChatMessage",
    "ResponseFormat",
    "ToolCall",
    "ToolSpec",
    "tool_call_from_json",
    "tool_call_from_object",
    "tools_of",
]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A model's request to call tool `name` with `arguments` (provider-neutral).

    `arguments_valid` is False when the model's arguments are not a JSON object or do
    not match the tool's `parameters` schema (`arguments_error` says why; `arguments`
    is then whatever could be parsed, `{}` when nothing could): a flag, as an invalid
    JSON answer is, because the call itself succeeded and was billed.
    """

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    arguments_valid: bool = True
    arguments_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """`{id, name, arguments}`: the history form an application sends back."""
        return {"id": self.id, "name": self.name, "arguments": dict(self.arguments)}


def tool_call_from_json(call_id: str, name: str, raw: str) -> ToolCall:
    """A `ToolCall` from arguments as the wire sends them (a JSON string; OpenAI and a
    streamed call); invalid JSON or a non-object is flagged, never raised."""
    if not raw.strip():
        return ToolCall(call_id, name, {})
    try:
        value = strict_json.loads(raw)
    except ValueError as exc:
        return ToolCall(call_id, name, {}, False, f"arguments are not JSON: {exc}")
    except RecursionError:  # a model (or a hostile server) nesting `[[[[…` past the stack
        return ToolCall(call_id, name, {}, False, "arguments are nested too deeply")
    return tool_call_from_object(call_id, name, value)


def tool_call_from_object(call_id: str, name: str, value: Any) -> ToolCall:
    """A `ToolCall` from arguments a response body already holds as JSON data (Anthropic's
    `input`, Gemini's `args`): not an object, or holding NaN or an infinity (which Python
    reads from a body but JSON has not), is flagged, never raised nor passed on."""
    if not isinstance(value, Mapping):
        return ToolCall(call_id, name, {}, False, "arguments are not a JSON object")
    try:
        _STRICT_JSON.encode(value)
    except ValueError:
        return ToolCall(call_id, name, {}, False, "arguments hold NaN or Infinity: not JSON")
    except RecursionError:
        return ToolCall(call_id, name, {}, False, "arguments are nested too deeply")
    return ToolCall(call_id, name, value)


_STRICT_JSON = json.JSONEncoder(allow_nan=False)


@dataclass(frozen=True)
class ToolSpec:
    """One entry of a prompt's `tools:`: `parameters` is a JSON Schema (an object)."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


def tools_of(raw: Any) -> tuple[ToolSpec, ...]:
    """Schema-valid `tools:` entries (a prompt file's or a bundle's) as `ToolSpec`s; no
    `parameters` means a tool without any."""
    return tuple(
        ToolSpec(
            name=t["name"],
            description=t.get("description") or "",
            parameters=t.get("parameters") or {"type": "object", "properties": {}},
        )
        for t in raw
    )


@dataclass(frozen=True)
class ChatMessage:
    """One message. `tool_calls` are an assistant message's calls; a `tool` message is a
    tool's result, answering the call `tool_call_id` of tool `name`.

    The tool fields are left out of the canonical form (cache keys, recordings) while
    they hold their defaults, so requests without tools keep their keys.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    _omit_defaults: ClassVar[tuple[str, ...]] = ("tool_calls", "tool_call_id", "name")


@dataclass(frozen=True)
class ResponseFormat:
    """`text`, `json` (any JSON object) or `json_schema` (with `schema`)."""

    type: Literal["text", "json", "json_schema"] = "text"
    schema: Mapping[str, Any] | None = None
    name: str = "output"
