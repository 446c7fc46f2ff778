"""The content hash: the identity eval results and bundles are keyed by."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from promptctl.promptfile.model import MessageTemplate, Prompt, Target
from promptctl.promptfile.partials import inline_partials

__all__ = ["content_hash", "hash_payload"]


def _messages(messages: tuple[MessageTemplate, ...], partials: Mapping[str, str]) -> list[Any]:
    out: list[Any] = []
    for m in messages:
        if m.history_var is not None:
            entry: dict[str, Any] = {"history": m.history_var}
            if m.max_tokens is not None:  # only when set: older hashes stay the same
                entry["max_tokens"] = m.max_tokens
            if m.max_messages is not None:
                entry["max_messages"] = m.max_messages
            out.append(entry)
        else:
            out.append({str(m.role): inline_partials(m.template or "", partials)})
    return out


def _target(t: Target, partials: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"use": t.use, "params": dict(t.params)}
    if t.messages is not None:
        data["messages"] = _messages(t.messages, partials)
    return data


def hash_payload(prompt: Prompt, partials: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the hash covers: resolved messages, model config, input/output schemas, tools.

    Metadata (id, version, description, status, owner, tags) and tests are excluded,
    so approving a prompt or adding a test keeps its eval results valid.
    """
    table = partials or {}
    payload: dict[str, Any] = {
        "messages": _messages(prompt.messages, table),
        "model": {
            "use": prompt.model.use,
            "params": dict(prompt.model.params),
            "fallbacks": [_target(t, table) for t in prompt.model.fallbacks],
            "routes": [{"when": r.when, "use": r.use} for r in prompt.model.routes],
        },
        "inputs": {k: dict(v) for k, v in prompt.inputs.items()},
        "output": {
            "format": prompt.output.format,
            "schema": dict(prompt.output.schema) if prompt.output.schema is not None else None,
        },
    }
    if prompt.tools:  # only when set: prompts without tools keep their hashes
        payload["tools"] = [
            {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
            for t in prompt.tools
        ]
    if prompt.tool_choice is not None:
        payload["tool_choice"] = prompt.tool_choice
    return payload


def content_hash(prompt: Prompt, partials: Mapping[str, str] | None = None) -> str:
    """``sha256:<hex>`` of the canonical JSON of `hash_payload`.

    Without `partials` the templates must already be self-contained (as in a bundle);
    inlining is idempotent, so both forms hash the same.
    """
    payload = json.dumps(
        hash_payload(prompt, partials),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()
