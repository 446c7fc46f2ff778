"""A bundle's entries read back as promptctl's types: its prompts, providers and prices.

Every reader (`bundle verify`/`show`/`diff`, `Runtime.load`, a publish carrying earlier
entries) builds them here, and each value is checked for the shape `publish` writes: an
unsigned bundle can be edited by anyone, its hashes recomputed, so a list where a model
name belongs or a header with a line break is a BundleError naming the entry, never a
traceback later (in `render`, a fallback, the transport). `tools/fuzz_inputs.py bundles`
edits bundles so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from promptctl.errors import BundleError
from promptctl.promptfile.chat import tools_of
from promptctl.promptfile.model import (
    MessageTemplate,
    ModelConfig,
    OutputSpec,
    PriceOverride,
    Prompt,
    ProviderSettings,
    Route,
    Target,
)

__all__ = [
    "bundle_pricing",
    "bundle_prompt_to_prompt",
    "bundle_providers",
    "prompt_from_entry",
    "why",
]

_ROLES = ("system", "user", "assistant")
_STATUSES = ("draft", "approved", "deprecated")
_TARGET = re.compile(r"[^/\s]+/\S+")  # prompt.schema.json's `target`
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,62}")


def bundle_prompt_to_prompt(entry: Mapping[str, Any]) -> Prompt:
    """Rebuild a `Prompt` from one bundle entry, so the runtime works on dataclasses."""
    try:
        return prompt_from_entry(entry)
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as exc:
        name = entry.get("id", "?") if isinstance(entry, Mapping) else "?"
        raise BundleError(f"bundle entry for prompt {name!r} is malformed: {why(exc)}") from exc


def why(exc: Exception) -> str:
    """What a malformed entry's exception says, as one line (a KeyError: what it lacks)."""
    return f"lacks {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else str(exc)


def prompt_from_entry(entry: Mapping[str, Any]) -> Prompt:
    """`bundle_prompt_to_prompt` for a reader that names the entry itself: a malformed
    value raises ValueError (or KeyError, TypeError) saying which."""
    model = _object(entry["model"], "model")
    output = _object(entry.get("output"), "output")
    return Prompt(
        id=_text(entry["id"], "id"),
        version=_text(entry["version"], "version"),
        path=Path(_optional_text(entry.get("source"), "source") or f"{entry['id']}.yaml"),
        model=ModelConfig(
            use=_target(model["use"], "model.use"),
            params=_object(model.get("params"), "model.params"),
            fallbacks=tuple(
                _fallback(_object(f, "a fallback"))
                for f in _list(model.get("fallbacks"), "model.fallbacks")
            ),
            routes=tuple(
                _route(_object(r, "a route")) for r in _list(model.get("routes"), "model.routes")
            ),
        ),
        messages=_messages_from(entry["messages"]),
        description=_optional_text(entry.get("description"), "description") or "",
        status=_choice(entry.get("status") or "approved", _STATUSES, "status"),
        owner=_optional_text(entry.get("owner"), "owner"),
        tags=tuple(_text(t, "a tag") for t in _list(entry.get("tags"), "tags")),
        inputs={
            _text(k, "an input name"): _schema(v, f"inputs.{k}")
            for k, v in _object(entry.get("inputs"), "inputs").items()
        },
        output=OutputSpec(
            format=_choice(output.get("format") or "text", ("text", "json"), "output.format"),
            schema=None
            if output.get("schema") is None
            else _schema(output["schema"], "output.schema"),
        ),
        content_hash=_text(entry["content_hash"], "content_hash"),
        tools=tools_of(_tools(entry.get("tools"))),
        tool_choice=_optional_text(entry.get("tool_choice"), "tool_choice") or None,
    )


def _messages_from(items: Any) -> tuple[MessageTemplate, ...]:
    return tuple(_message_from(_object(m, "a message")) for m in _list(items, "messages"))


def _message_from(m: Mapping[str, Any]) -> MessageTemplate:
    role, template, history_var = m.get("role"), m.get("template"), m.get("history_var")
    bounds = m.get("max_tokens"), m.get("max_messages")
    text = role in _ROLES and isinstance(template, str) and history_var is None
    splice = role is None and template is None and isinstance(history_var, str)
    counts = all(b is None or (type(b) is int and b > 0) for b in bounds)
    if not (text or splice) or not counts:
        raise ValueError(
            "a message is a role (system, user or assistant) with a template, or a "
            f"history splice naming its input, with whole-number bounds: got {dict(m)!r:.200}"
        )
    return MessageTemplate(
        role=role,
        template=template,
        history_var=history_var,
        max_tokens=bounds[0],
        max_messages=bounds[1],
    )


def _fallback(f: Mapping[str, Any]) -> Target:
    messages = f.get("messages")
    return Target(
        use=_target(f["use"], "a fallback's use"),
        params=_object(f.get("params"), "a fallback's params"),
        messages=_messages_from(messages) if messages else None,
    )


def _route(r: Mapping[str, Any]) -> Route:
    when = _text(r["when"], "a route's when")
    if not when:
        raise ValueError("a route's when is empty")
    return Route(when=when, use=_target(r["use"], "a route's use"))


def _tools(raw: Any) -> list[dict[str, Any]]:
    out = []
    for tool in _list(raw, "tools"):
        tool = _object(tool, "a tool")
        name = _text(tool.get("name"), "a tool's name")
        if not _TOOL_NAME.fullmatch(name):
            raise ValueError(f"tool name {name!r} is not one every provider accepts")
        _optional_text(tool.get("description"), "a tool's description")
        if tool.get("parameters") is not None:
            _schema(tool["parameters"], f"tool {name}'s parameters")
        out.append(tool)
    return out


def _schema(value: Any, what: str) -> dict[str, Any]:
    """A JSON Schema (inputs, output, tool parameters), checked as a prompt file's are."""
    from promptctl.promptfile.schemas import check_schema

    schema = _object(value, what)
    problem = check_schema(schema)
    if problem is not None:
        raise ValueError(f"{what} is not a valid JSON Schema: {problem}")
    return schema


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object, not {type(value).__name__}")
    return dict(value)


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list, not {type(value).__name__}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _target(value: Any, what: str) -> str:
    if not _TARGET.fullmatch(_text(value, what)):
        raise ValueError(f"{what} {value!r:.80} is not provider/model")
    return str(value)


def _choice(value: Any, choices: Sequence[str], what: str) -> Any:
    if value not in choices:
        raise ValueError(f"{what} {value!r:.80} is not one of {', '.join(choices)}")
    return value


def bundle_providers(doc: Mapping[str, Any]) -> dict[str, ProviderSettings]:
    """The providers a bundle carries, as settings the provider layer takes."""
    from promptctl.promptfile.schemas import provider_settings_problem

    out = {}
    for name, s in (doc.get("providers") or {}).items():
        texts = ("kind", "base_url", "api_key_env", "api_version", "dialect")
        if not isinstance(s, Mapping) or not all(isinstance(s.get(k), str | None) for k in texts):
            raise BundleError(
                f"bundle provider {name!r} is malformed: {', '.join(texts)} must be strings"
            )
        # the rules of promptctl.yaml's `providers:` (publish wrote what they allow; a
        # setting it leaves unset is null here)
        problem = provider_settings_problem(name, {k: v for k, v in s.items() if v is not None})
        if problem is not None:
            raise BundleError(
                f"bundle provider {name!r} is malformed: {problem[0]}: {problem[1]}",
                hint="publish it again; never edit a bundle by hand",
            )
        try:
            out[name] = ProviderSettings(
                name=name,
                kind=s["kind"],
                base_url=s.get("base_url"),
                api_key_env=s.get("api_key_env"),
                timeout_s=float(s.get("timeout_s", 60.0)),
                max_concurrency=int(s.get("max_concurrency", 16)),
                rpm=s.get("rpm"),
                tpm=s.get("tpm"),
                max_retries=int(s.get("max_retries", 3)),
                headers=dict(s.get("headers") or {}),
                api_version=s.get("api_version"),
                dialect=s.get("dialect"),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise BundleError(f"bundle provider {name!r} is malformed: {exc!r}") from exc
    return out


def bundle_pricing(doc: Mapping[str, Any]) -> dict[str, PriceOverride]:
    """The `pricing:` overrides a bundle carries (USD per million tokens, by target)."""
    out = {}
    raw = doc.get("pricing") or {}
    if not isinstance(raw, Mapping):
        raise BundleError("bundle pricing is malformed: not an object")
    for target, p in raw.items():
        try:
            out[str(target)] = PriceOverride(
                input=_price(p["input"]),
                output=_price(p["output"]),
                cached_input=None if p.get("cached_input") is None else _price(p["cached_input"]),
                cache_write=None if p.get("cache_write") is None else _price(p["cache_write"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise BundleError(f"bundle price for {target!r} is malformed: {exc!r}") from exc
    return out


def _price(value: Any) -> float:
    """USD per million tokens: a finite number, not below zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a price must be a number, not {type(value).__name__}")
    price = float(value)
    if not math.isfinite(price) or price < 0:
        raise ValueError(f"a price of {value!r:.40} is not a finite, non-negative number")
    return price
