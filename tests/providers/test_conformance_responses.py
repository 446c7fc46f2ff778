"""Responses API request bodies against OpenAI's `CreateResponse` schema (vendored like
the others by tools/extract_spec_schemas.py; helpers from test_conformance.py)."""

from __future__ import annotations

from typing import Any

import pytest
from test_conformance import _requests, _spec, _validate

from fakes import http
from fakes.llm_server import FakeLLM
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import load_adapter

SETTINGS = ProviderSettings("r", "openai-responses", "https://api.openai.com/v1", "K")
NAMES = (
    "openai_responses",
    "openai_embeddings",
    "gemini_embed",
    "openai_response_object",
    "openai_responses_stream",
)


def _body(request: ChatRequest) -> dict[str, Any]:
    return load_adapter("openai-responses").build_request(request, SETTINGS, "k").body


def _supported(request: ChatRequest) -> ChatRequest:
    """The Responses API has no stop or seed (the adapter refuses them)."""
    return ChatRequest(**{**request.__dict__, "stop": (), "seed": None})


@pytest.mark.parametrize("model", ["gpt-4o-mini", "o4-mini"])
def test_responses_bodies_match_create_response(model: str) -> None:
    for request in _requests(model):
        _validate("openai_responses", _body(_supported(request)))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(max_tokens=5),
        lambda b: b["input"][0].update(role="robot"),
        lambda b: b.update(text={"format": {"type": "json_schema"}}),
        lambda b: b.update(response_format={"type": "json_object"}),
    ],
)
def test_a_wrong_field_fails_validation(mutate: Any) -> None:
    body = _body(_supported(_requests("gpt-4o-mini")[1]))
    mutate(body)
    with pytest.raises(AssertionError):
        _validate("openai_responses", body)


def test_the_fake_servers_answer_is_a_valid_response(fake_llm: FakeLLM) -> None:
    """The fake's /v1/responses answer matches OpenAI's `Response` schema, so the adapter
    is tested against the wire format and not against the fake's idea of it."""
    settings = ProviderSettings("r", "openai-responses", fake_llm.openai_base, "K")
    request = _supported(_requests("gpt-4o-mini")[3])
    wire = load_adapter("openai-responses").build_request(request, settings, "k")
    answer = http.post(wire.url, json=wire.body, headers=wire.headers, timeout=5).json()
    _validate("openai_response_object", answer)
    fake_llm.reply_tool_calls([("get_weather", {"city": "Paris"})])
    calls = http.post(wire.url, json=wire.body, headers=wire.headers, timeout=5).json()
    assert calls["output"][0]["type"] == "function_call"
    _validate("openai_response_object", calls)
    answer["output"][0]["content"][0]["type"] = "text"
    with pytest.raises(AssertionError):
        _validate("openai_response_object", answer)


@pytest.mark.parametrize("name", NAMES)
def test_vendored_schema_records_its_source(name: str) -> None:
    source = _spec(name)["source"]
    assert set(source) == {"file", "commit", "sha256"}
    assert len(source["commit"]) == 40 and len(source["sha256"]) == 64


# ---- embeddings -------------------------------------------------------------------


def _embed_bodies(kind: str) -> list[dict[str, Any]]:
    from promptctl.providers.embeddings import EmbedRequest, embed_wire

    settings = ProviderSettings("e", kind, "https://example.test/v1", "K")  # type: ignore[arg-type]
    wire = embed_wire(settings)
    return [
        wire.build(EmbedRequest("e", "text-embedding-3-small", texts, dims), settings, "k").body
        for texts, dims in ((("one",), None), (("one", "two"), 256))
    ]


@pytest.mark.parametrize("kind", ["openai", "azure", "openai-compatible", "openai-responses"])
def test_embedding_bodies_match_create_embedding_request(kind: str) -> None:
    for body in _embed_bodies(kind):
        _validate("openai_embeddings", body)


def test_gemini_embedding_bodies_match_batch_embed_contents_request() -> None:
    for body in _embed_bodies("gemini"):
        _validate("gemini_embed", body)


@pytest.mark.parametrize(
    ("spec", "kind", "mutate"),
    [
        ("openai_embeddings", "openai", lambda b: b.update(dimension=3)),
        ("openai_embeddings", "openai", lambda b: b.update(encoding_format="float16")),
        ("gemini_embed", "gemini", lambda b: b["requests"][0].update(output_dimensionality=3)),
        ("gemini_embed", "gemini", lambda b: b["requests"][0].update(content="text")),
    ],
)
def test_a_wrong_embedding_field_fails_validation(spec: str, kind: str, mutate: Any) -> None:
    body = _embed_bodies(kind)[1]
    mutate(body)
    with pytest.raises(AssertionError):
        _validate(spec, body)
