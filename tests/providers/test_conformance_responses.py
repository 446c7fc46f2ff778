"""Responses API request bodies against OpenAI's `CreateResponse` schema (vendored like
the others by tools/extract_spec_schemas.py; helpers from test_conformance.py)."""

from __future__ import annotations

from typing import Any

import pytest
from test_conformance import SHARED_SPECS, VENDORED, _extractor, _requests, _spec, _validate

from promptctl.plan.request import ChatRequest
from promptctl.promptfile.model import ProviderSettings
from promptctl.providers.base import load_adapter

SETTINGS = ProviderSettings("r", "openai-responses", "https://api.openai.com/v1", "K")
NAMES = ("openai_responses", "openai_embeddings", "gemini_embed")


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


@pytest.mark.parametrize("name", NAMES)
def test_vendored_schema_records_its_source(name: str) -> None:
    source = _spec(name)["source"]
    assert set(source) == {"file", "commit", "sha256"}
    assert len(source["commit"]) == 40 and len(source["sha256"]) == 64


@pytest.mark.skipif(not SHARED_SPECS.is_dir(), reason=f"no shared specs at {SHARED_SPECS}")
@pytest.mark.parametrize("name", NAMES)
def test_vendored_schema_matches_a_fresh_extraction(name: str) -> None:
    tool = _extractor()
    fresh = tool.render(tool.extract(SHARED_SPECS, name))
    assert (VENDORED / f"{name}.json").read_text(encoding="utf-8") == fresh
