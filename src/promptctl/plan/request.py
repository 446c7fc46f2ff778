"""The provider-neutral request and how a target, messages and params become one.

`ChatRequest` is what a call plan hands to the provider layer; adapters map it to their
wire format. Its canonical form is the basis of cache keys and recordings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, ClassVar

from promptctl.errors import PromptFileError
from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolSpec
from promptctl.promptfile.model import OutputSpec, Target

__all__ = ["ChatRequest", "build_chat_request", "plain_data", "wants_stream"]


@dataclass(frozen=True)
class ChatRequest:
    """What promptctl asks of a model, before any vendor mapping.

    `extra` carries provider-specific params passed through verbatim (e.g. `top_k`).
    `tools` are the prompt's `tools:`; `tool_choice` is `auto`, `none`, `required` or a
    tool's name (None: the provider's default). Both are left out of the canonical form
    while empty, so requests without tools keep their cache keys and recordings.
    """

    provider: str
    model: str
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    response_format: ResponseFormat = field(default_factory=ResponseFormat)
    extra: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | None = None

    _omit_defaults: ClassVar[tuple[str, ...]] = ("tools", "tool_choice")

    @property
    def target(self) -> str:
        return f"{self.provider}/{self.model}"

    def with_messages(self, messages: tuple[ChatMessage, ...]) -> ChatRequest:
        """`dataclasses.replace(self, messages=messages)` without its field walk and keyword
        call (a call plan sets each case's messages on its target's request: ~4 µs less);
        the memoised key and canonical JSON are not carried over."""
        request = object.__new__(ChatRequest)
        values = request.__dict__
        mine = self.__dict__
        for name in _FIELD_ORDER:
            values[name] = mine[name]
        values["messages"] = messages
        return request

    def canonical(self) -> dict[str, Any]:
        """The request as plain sorted data: the basis of cache keys and recordings."""
        data: dict[str, Any] = json.loads(json.dumps(plain_data(self), sort_keys=True))
        return data

    def _canonical_json(self) -> str:
        """`canonical()` as compact sorted JSON, computed once per (immutable) request:
        an evaluation asks for the key of the same request several times. Only the
        messages change from case to case: the rest comes from `_around_messages` and
        plain messages are written directly (`_messages_json`), the same bytes."""
        cached: str | None = self.__dict__.get("_canonical_json_cache")
        if cached is None:
            around = _around_messages(self)
            messages = _messages_json(self.messages) if around is not None else None
            if around is None or messages is None:
                cached = _CANONICAL.encode(plain_data(self))
            else:
                cached = around[0] + messages + around[1]
            object.__setattr__(self, "_canonical_json_cache", cached)
        return cached

    def cache_key(self, *, repeat: int = 0) -> str:
        """SHA-256 of the canonical request; `repeat` keeps N repeats N distinct calls.

        The payload is `{"repeat": N, "request": canonical}` as compact sorted JSON.
        """
        keys: dict[int, str] | None = self.__dict__.get("_cache_keys")
        if keys is None:
            keys = {}
            object.__setattr__(self, "_cache_keys", keys)
        key = keys.get(repeat)
        if key is None:  # the runner, the gateway and the ledger all ask: hashed once
            payload = f'{{"repeat":{int(repeat)},"request":{self._canonical_json()}}}'
            key = keys[repeat] = hashlib.sha256(payload.encode()).hexdigest()
        return key


_SCALARS = frozenset((str, int, float, bool, type(None)))
# built once: `json.dumps` with arguments makes a new encoder per call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_FIELD_NAMES: dict[type, tuple[tuple[str, ...], dict[str, Any]]] = {}
_FIELD_ORDER = tuple(f.name for f in fields(ChatRequest))
_JSON_STRING = json.encoder.encode_basestring  # how `_CANONICAL` writes a str (C)
_NOT_MESSAGES = tuple(f.name for f in fields(ChatRequest) if f.name != "messages")
_MARK = "\x00promptctl:messages\x00"
_MARK_JSON = _CANONICAL.encode(_MARK)
# the canonical JSON before and after the messages, by the identity of the other fields'
# values (requests of one prompt and target share them: `plan.call._shell`)
_AROUND: dict[tuple[int, ...], tuple[tuple[Any, ...], str, str]] = {}


def _around_messages(request: ChatRequest) -> tuple[str, str] | None:
    """The canonical JSON of `request` up to its messages' list and after it."""
    values = tuple(getattr(request, name) for name in _NOT_MESSAGES)
    key = tuple(map(id, values))
    hit = _AROUND.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], values, strict=True)):
        return hit[1], hit[2]
    data = plain_data(request)
    data["messages"] = _MARK
    text = _CANONICAL.encode(data)
    if text.count(_MARK_JSON) != 1:
        return None  # the mark inside a value: not split, the caller encodes it all
    before, after = text.split(_MARK_JSON)
    if len(_AROUND) > 1024:
        _AROUND.clear()
    _AROUND[key] = (values, before, after)
    return before, after


def _messages_json(messages: tuple[ChatMessage, ...]) -> str | None:
    """`_CANONICAL.encode(plain_data(messages))` for plain text messages (no tool fields,
    whose canonical form is `{"content":...,"role":...}`); None for any other."""
    parts: list[str] = []
    for m in messages:
        if (
            type(m) is not ChatMessage
            or type(m.content) is not str
            or type(m.role) is not str
            or m.tool_calls != ()  # `plain_data` leaves out only the default itself
            or m.tool_call_id is not None
            or m.name is not None
        ):
            return None
        parts.append(f'{{"content":{_JSON_STRING(m.content)},"role":{_JSON_STRING(m.role)}}}')
    return "[" + ",".join(parts) + "]"


def _field_names(value: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """A dataclass's field names, and the defaults of those listed in its
    `_omit_defaults` (fields added later, left out while unset so old keys hold)."""
    omit = getattr(value, "_omit_defaults", ())
    defaults: dict[str, Any] = {}
    for f in fields(value):
        if f.name in omit:
            factory = f.default_factory
            defaults[f.name] = factory() if factory is not MISSING else f.default
    return tuple(f.name for f in fields(value)), defaults


def plain_data(value: Any) -> Any:
    """`asdict` without its deep copies (tuples become lists; the JSON is the same): a
    runtime call computes one cache key per request, and `asdict` was most of the
    gateway's own time. Fields named in a class's `_omit_defaults` are left out while
    they hold their default."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    known = _FIELD_NAMES.get(cls)
    if known is None and is_dataclass(value) and not isinstance(value, type):
        known = _FIELD_NAMES[cls] = _field_names(value)
    scalars = _SCALARS  # scalars are returned here, not by a call each: ~3x fewer calls
    if known is not None:
        names, defaults = known
        out = {}
        for name in names:
            item = getattr(value, name)
            if defaults and name in defaults and item == defaults[name]:
                continue
            out[name] = item if type(item) in scalars else plain_data(item)
        return out
    if cls is tuple or cls is list or isinstance(value, list | tuple):
        return [v if type(v) in scalars else plain_data(v) for v in value]
    if isinstance(value, Mapping):
        return {k: v if type(v) in scalars else plain_data(v) for k, v in value.items()}
    return value


_KNOWN = ("temperature", "top_p", "max_tokens", "stop", "seed")
# params that choose how promptctl calls, not what it asks: never sent as they are (the
# streaming adapters add their own wire switches) and not part of the request's identity
_CALL_MODE = ("stream",)


def wants_stream(params: Mapping[str, Any]) -> bool:
    """`stream: true` in a prompt's (or target's) params: `promptctl test` streams it."""
    value = params.get("stream", False)
    if not isinstance(value, bool):
        raise PromptFileError(f"param stream: {value!r} is not true or false")
    return value


def build_chat_request(
    target: Target,
    messages: Sequence[ChatMessage],
    *,
    base_params: Mapping[str, Any],
    output: OutputSpec,
    tools: Sequence[ToolSpec] = (),
    tool_choice: str | None = None,
) -> ChatRequest:
    """Target params win over `base_params`; unknown params pass through in `extra`.

    The output schema, tool parameters and `extra` are key-sorted (see `_sorted`)."""
    if "/" not in target.use:
        raise PromptFileError(
            f"model {target.use!r} is not provider/model",
            location=target.location,
            hint="write e.g. openai/gpt-4o-mini",
        )
    params = {**base_params, **target.params}
    if not isinstance(params.get("stream", False), bool):
        raise PromptFileError(
            f"param stream: {params['stream']!r} is not true or false",
            location=target.location,
            hint="stream: true makes `promptctl test` call this prompt streaming",
        )
    stop = params.get("stop")
    stops: tuple[str, ...] = (
        () if stop is None else (stop,) if isinstance(stop, str) else tuple(map(str, stop))
    )
    if output.format == "json" and output.schema is not None:
        fmt = ResponseFormat("json_schema", schema=_sorted_schema(output.schema))
    elif output.format == "json":
        fmt = ResponseFormat("json")
    else:
        fmt = ResponseFormat()
    return ChatRequest(
        provider=target.provider,
        model=target.model,
        messages=tuple(messages),
        temperature=_opt(params, "temperature", float),
        top_p=_opt(params, "top_p", float),
        max_tokens=_opt(params, "max_tokens", int),
        stop=stops,
        seed=_opt(params, "seed", int),
        response_format=fmt,
        extra=_sorted({k: v for k, v in params.items() if k not in _KNOWN + _CALL_MODE}),
        tools=tuple(ToolSpec(t.name, t.description, _sorted_schema(t.parameters)) for t in tools),
        tool_choice=tool_choice,
    )


_SCHEMAS: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _sorted_schema(schema: Mapping[str, Any]) -> Any:
    """`_sorted(schema)`, once per schema object: a loaded prompt's schema is immutable and
    the runtime builds a request from it on every call."""
    cached = _SCHEMAS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    if len(_SCHEMAS) > 1024:
        _SCHEMAS.clear()
    result = _sorted(schema)
    _SCHEMAS[id(schema)] = (schema, result)
    return result


def _sorted(value: Any) -> Any:
    """Mappings with their keys sorted, all the way down: a schema or param object sends
    the same bytes whether it was read from the prompt file (author's order) or from a
    bundle (stored with sorted keys), so the runtime and `promptctl test` agree."""
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def _opt(params: Mapping[str, Any], key: str, cast: type[Any]) -> Any:
    value = params.get(key)
    if value is None:
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise PromptFileError(f"param {key}: {value!r} is not a {cast.__name__}") from None
