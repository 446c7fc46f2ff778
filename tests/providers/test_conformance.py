"""Request bodies each adapter builds, validated against the providers' OpenAPI specs.

The specs live in `<checkout>/../shared/specs` (see SOURCES.md there); without them these
tests are skipped with the reason, everything else still runs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptctl.providers.base import load_adapter
from promptctl.providers.types import ChatMessage, ChatRequest, ResponseFormat
from promptctl.spec.model import DEFAULT_PROVIDERS, ProviderSettings

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"provider specs not found at {SPECS}")

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
    ]


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` -> JSON Schema `anyOf [.., null]`; `type: null` dropped."""
    if isinstance(node, dict):
        out = {
            k: _nullable(v)
            for k, v in node.items()
            if k != "nullable" and not (k == "type" and v is None)
        }
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _spec(name: str) -> dict[str, Any]:
    path = SPECS / name
    text = path.read_text(encoding="utf-8")
    data: dict[str, Any] = (
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if name.endswith(".yaml")
        else json.loads(text)
    )
    return _nullable(data)


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
    props = _properties(spec, node)
    if props is None:
        return []
    out = [f"{path}.{k}" for k in value if k not in props]
    for key, sub in value.items():
        if key in props and key not in ("schema", "responseSchema"):  # user JSON Schemas
            out += _unknown_fields(spec, props[key], sub, f"{path}.{key}")
    return out


# Fields the provider added after the spec snapshot in ../shared/specs was taken
# (gemini revision 20241016 predates `generationConfig.seed`, documented since 2025).
NEWER_THAN_SPEC = {"gemini-openapi-20241016.json": {"$.generationConfig.seed"}}


def _validate(spec_name: str, schema_path: str, body: dict[str, Any]) -> None:
    """jsonschema validation (types, enums, required) plus a check for unknown fields,
    which the vendors' schemas allow but the vendors' servers reject."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    spec = _spec(spec_name)
    registry: Registry[Any] = Registry().with_resource(
        "urn:spec", DRAFT202012.create_resource(spec)
    )
    validator = Draft202012Validator({"$ref": f"urn:spec#{schema_path}"}, registry=registry)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]
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
        body = _body("openai", request, DEFAULT_PROVIDERS["openai"])
        _validate("openai-openapi.yaml", "/components/schemas/CreateChatCompletionRequest", body)


def test_anthropic_bodies_match_messages_request() -> None:
    spec = _spec("anthropic-openapi.json")
    ref = spec["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["$ref"]
    for request in _requests("claude-haiku-4-5"):
        if request.response_format.type != "text" or request.seed is not None:
            request = ChatRequest(
                "p",
                request.model,
                request.messages,
                temperature=request.temperature,
                stop=request.stop,
            )
        body = _body("anthropic", request, DEFAULT_PROVIDERS["anthropic"])
        _validate("anthropic-openapi.json", ref.removeprefix("#"), body)


def test_gemini_bodies_match_generate_content_request() -> None:
    for request in _requests("gemini-2.5-flash"):
        body = _body("gemini", request, DEFAULT_PROVIDERS["gemini"])
        _validate(
            "gemini-openapi-20241016.json", "/components/schemas/GenerateContentRequest", body
        )


@pytest.mark.parametrize(
    ("spec", "path", "kind", "mutate"),
    [
        (
            "openai-openapi.yaml",
            "/components/schemas/CreateChatCompletionRequest",
            "openai",
            lambda b: b["messages"][0].update(role="robot"),
        ),
        (
            "openai-openapi.yaml",
            "/components/schemas/CreateChatCompletionRequest",
            "openai",
            lambda b: b.update(max_token=5),
        ),
        (
            "anthropic-openapi.json",
            "/components/schemas/CreateMessageParams",
            "anthropic",
            lambda b: b.update(stop=["x"]),
        ),
        (
            "gemini-openapi-20241016.json",
            "/components/schemas/GenerateContentRequest",
            "gemini",
            lambda b: b.update(generationConfig={"max_output_tokens": 5}),
        ),
        (
            "gemini-openapi-20241016.json",
            "/components/schemas/GenerateContentRequest",
            "gemini",
            lambda b: b.update(generationConfig={"temperature": "hot"}),
        ),
    ],
)
def test_a_wrong_field_fails_validation(spec: str, path: str, kind: str, mutate: Any) -> None:
    """The check has teeth: misnamed and mistyped fields are rejected."""
    body = _body(kind, _requests("m")[0], DEFAULT_PROVIDERS[kind])
    mutate(body)
    with pytest.raises(AssertionError):
        _validate(spec, path, body)
