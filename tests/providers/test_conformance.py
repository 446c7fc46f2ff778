"""Request bodies each adapter builds, validated against the providers' OpenAPI specs.

The request schemas are vendored in tests/providers/specs/ (tools/extract_spec_schemas.py
cuts them out of `<checkout>/../shared/specs`, see SOURCES.md there), so these tests run
on a fresh machine; when the shared specs are present, the vendored copies must also
match a fresh extraction (test_vendored_specs.py).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ResponseFormat, ToolCall, ToolSpec
from promptctl.promptfile.model import DEFAULT_PROVIDERS, ProviderSettings
from promptctl.providers.base import load_adapter

CHECKOUT = Path(__file__).resolve().parents[2]
VENDORED = Path(__file__).resolve().parent / "specs"
SHARED_SPECS = CHECKOUT / ".." / "shared" / "specs"
PROVIDERS = ("openai", "anthropic", "gemini")

SCHEMA = {
    "type": "object",
    "properties": {"category": {"type": "string"}},
    "required": ["category"],
}
MESSAGES = (
    ChatMessage("system", "Classify."),
    ChatMessage("user", "Hi"),
    ChatMessage("assistant", "Hello"),
    ChatMessage("user", "refund"),
)


def _requests(model: str) -> list[ChatRequest]:
    full = dict(temperature=0.2, top_p=0.9, max_tokens=100, stop=("END",), seed=3)
    return [
        ChatRequest("p", model, MESSAGES[1:2]),
        ChatRequest("p", model, MESSAGES, **full),  # type: ignore[arg-type]
        ChatRequest("p", model, MESSAGES, response_format=ResponseFormat("json")),
        ChatRequest(
            "p", model, MESSAGES, response_format=ResponseFormat("json_schema", schema=SCHEMA)
        ),
        *(
            ChatRequest("p", model, TOOL_TURNS, tools=TOOLS, tool_choice=choice)
            for choice in (None, "auto", "none", "required", "get_weather")
        ),
        ChatRequest(
            "p",
            model,
            TOOL_TURNS,
            tools=TOOLS,
            response_format=ResponseFormat("json_schema", schema=STRICT_SCHEMA),
        ),
    ]


STRICT_SCHEMA = {**SCHEMA, "additionalProperties": False}
TOOLS = (
    ToolSpec(
        "get_weather",
        "The weather in a city.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "a city name"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f", None]},
                "days": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    ),
    ToolSpec("now", "", {"type": "object", "properties": {}}),
)
# a conversation an application continues: two parallel calls, their results, a question
TOOL_TURNS = (
    ChatMessage("system", "Help."),
    ChatMessage("user", "Weather in Paris and the time?"),
    ChatMessage(
        "assistant",
        "",
        tool_calls=(
            ToolCall("call_1", "get_weather", {"city": "Paris"}),
            ToolCall("call_2", "now"),
        ),
    ),
    ChatMessage("tool", '{"temp_c": 21}', tool_call_id="call_1", name="get_weather"),
    ChatMessage("tool", "12:00", tool_call_id="call_2"),
    ChatMessage("user", "And tomorrow?"),
)


@cache
def _spec(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VENDORED / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _schema_path(name: str) -> str:
    path: str = _spec(name)["request_schema"]
    return path


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    for _ in range(50):  # bounded: a $ref chain never loops this long in a sane spec
        if not (isinstance(node, dict) and "$ref" in node):
            break
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _properties(spec: dict[str, Any], node: Any) -> dict[str, Any] | None:
    """Union of the properties a schema allows (through $ref/allOf/anyOf/oneOf), or None
    when it allows any key."""
    node = _resolve(spec, node)
    if not isinstance(node, dict):
        return None
    props: dict[str, Any] = dict(node.get("properties", {}))
    open_ended = not props and not any(k in node for k in ("allOf", "anyOf", "oneOf"))
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(key, []):
            sub = _properties(spec, branch)
            if sub is None:
                if key == "allOf":
                    continue
                open_ended = True
            else:
                props.update(sub)
    return None if open_ended or node.get("additionalProperties") not in (None, False) else props


def _unknown_fields(spec: dict[str, Any], node: Any, value: Any, path: str) -> list[str]:
    """Field names in `value` the schema does not declare: misnamed fields."""
    node = _resolve(spec, node)
    if isinstance(value, list) and isinstance(node, dict):
        item = node.get("items")
        if item is None:
            for branch in node.get("anyOf", []) + node.get("oneOf", []):
                branch = _resolve(spec, branch)
                if isinstance(branch, dict) and "items" in branch:
                    item = branch["items"]
        return [
            e
            for i, v in enumerate(value)
            for e in _unknown_fields(spec, item or {}, v, f"{path}[{i}]")
        ]
    if not isinstance(value, dict):
        return []
    branch = _typed_branch(spec, node, value)
    if branch is not None:  # a union told apart by `type`: check against that member only
        return _unknown_fields(spec, branch, value, path)
    props = _properties(spec, node)
    if props is None:
        return []
    out = [f"{path}.{k}" for k in value if k not in props]
    for key, sub in value.items():
        if key in props and (
            key not in _USER_SCHEMAS or (key == "input" and isinstance(sub, list))
        ):
            out += _unknown_fields(spec, props[key], sub, f"{path}.{key}")
    return out


def _typed_branch(spec: dict[str, Any], node: Any, value: dict[str, Any]) -> Any:
    """The one `oneOf`/`anyOf` member whose `type` enum names `value["type"]`, if any
    (a union of object shapes, e.g. the Responses API's output items)."""
    if not isinstance(node, dict) or "type" not in value:
        return None
    members = [_resolve(spec, b) for b in node.get("oneOf", []) + node.get("anyOf", [])]
    found = [
        m
        for m in members
        if isinstance(m, dict)
        and value["type"] in (m.get("properties", {}).get("type", {}).get("enum") or ())
    ]
    return found[0] if len(found) == 1 else None


# Values that are the user's own JSON Schemas (or arguments), not the vendor's fields.
# Gemini's `parameters` is checked: it is converted to Gemini's own Schema object.
# `input` is Anthropic's tool_use arguments when an object; the Responses API's `input`
# (a list of items) is the vendor's and is checked.
_USER_SCHEMAS = frozenset({"schema", "responseSchema", "input_schema", "input"})

# Fields the provider added after the spec snapshot in ../shared/specs was taken
# (gemini revision 20241016 predates `generationConfig.seed`, documented since 2025).
# `Schema.nullable` is documented (ai.google.dev/api/caching#Schema) but missing from that
# snapshot; Anthropic's `tool_choice: {type: none}` (2025) is newer than its spec too.
NEWER_THAN_SPEC = {
    "gemini": {
        "$.generationConfig.seed",
        "$.tools[0].functionDeclarations[0].parameters.properties.unit.nullable",
    },
    "gemini_stream": {"$.responseId"},  # sent by the API since 2025, as in whole answers
}
_NONE_CHOICE = "'tool_choice']: {'type': 'none'} is not valid"
NEWER_VALUES = {"anthropic": (_NONE_CHOICE,), "anthropic_batch": (_NONE_CHOICE,)}


def _validate(spec_name: str, body: dict[str, Any]) -> None:
    """jsonschema validation (types, enums, required) plus a check for unknown fields,
    which the vendors' schemas allow but the vendors' servers reject."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    spec = _spec(spec_name)
    schema_path = _schema_path(spec_name)
    registry: Registry[Any] = Registry().with_resource(
        "urn:spec", DRAFT202012.create_resource(spec)
    )
    validator = Draft202012Validator({"$ref": f"urn:spec#{schema_path}"}, registry=registry)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]
    errors = [e for e in errors if not any(v in e for v in NEWER_VALUES.get(spec_name, ()))]
    node = spec
    for part in schema_path.strip("/").split("/"):
        node = node[part]
    allowed = NEWER_THAN_SPEC.get(spec_name, set())
    errors += [
        f"unknown field {f}" for f in _unknown_fields(spec, node, body, "$") if f not in allowed
    ]
    assert not errors, "; ".join(errors[:5])


def _body(kind: str, request: ChatRequest, settings: ProviderSettings) -> dict[str, Any]:
    return load_adapter(kind).build_request(request, settings, "k").body


@pytest.mark.parametrize("model", ["gpt-4o-mini", "o4-mini"])
def test_openai_bodies_match_create_chat_completion_request(model: str) -> None:
    for request in _requests(model):
        _validate("openai", _body("openai", request, DEFAULT_PROVIDERS["openai"]))


def test_anthropic_bodies_match_messages_request() -> None:
    """Every variant as sent, JSON response formats and a seed included."""
    assert _schema_path("anthropic") == "/components/schemas/CreateMessageParams"
    for request in _requests("claude-haiku-4-5"):
        _validate("anthropic", _body("anthropic", request, DEFAULT_PROVIDERS["anthropic"]))


def test_gemini_bodies_match_generate_content_request() -> None:
    for request in _requests("gemini-2.5-flash"):
        _validate("gemini", _body("gemini", request, DEFAULT_PROVIDERS["gemini"]))


@pytest.mark.parametrize(
    ("spec", "kind", "mutate"),
    [
        ("openai", "openai", lambda b: b["messages"][0].update(role="robot")),
        ("openai", "openai", lambda b: b.update(max_token=5)),
        ("anthropic", "anthropic", lambda b: b.update(stop=["x"])),
        ("anthropic", "anthropic", lambda b: b.update(max_tokens="many")),
        ("gemini", "gemini", lambda b: b.update(generationConfig={"max_output_tokens": 5})),
        ("gemini", "gemini", lambda b: b.update(generationConfig={"temperature": "hot"})),
    ],
)
def test_a_wrong_field_fails_validation(spec: str, kind: str, mutate: Any) -> None:
    """The check has teeth: misnamed and mistyped fields are rejected."""
    body = _body(kind, _requests("m")[0], DEFAULT_PROVIDERS[kind])
    mutate(body)
    with pytest.raises(AssertionError):
        _validate(spec, body)


@pytest.mark.parametrize("name", PROVIDERS)
def test_vendored_schema_records_its_source(name: str) -> None:
    source = _spec(name)["source"]
    assert set(source) == {"file", "commit", "sha256"}
    assert len(source["commit"]) == 40 and len(source["sha256"]) == 64
    assert all(int(h, 16) >= 0 for h in (source["commit"], source["sha256"]))


@pytest.mark.skipif(not SHARED_SPECS.is_dir(), reason=f"no shared specs at {SHARED_SPECS}")
def test_recorded_sha256_matches_shared_sha256sums() -> None:
    sums: dict[str, str] = {}
    for line in (SHARED_SPECS / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, file = line.split(maxsplit=1)
            sums[file] = digest
    for name in PROVIDERS:
        source = _spec(name)["source"]
        assert sums[source["file"]] == source["sha256"]
