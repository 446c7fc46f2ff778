"""Malformed 200 bodies, per wire, through the fake server and the Gateway.

Each must end as one `bad_response` naming the field it could not read: never an
AttributeError/ValueError from the adapter, never an empty-text "success".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.errors import ProviderError
from promptctl.promptfile.model import Project

_MSG = {"role": "assistant", "content": "hi"}
OPENAI: list[tuple[Any, str]] = [
    ([1, 2], "response field (body) is not an object"),
    ({"choices": None}, "response field choices is missing or empty"),
    ({"choices": {"0": _MSG}}, "response field choices is not an array"),
    ({"choices": [None]}, "response field choices[0] is missing"),
    ({"choices": ["x"]}, "response field choices[0] is not an object"),
    ({"choices": [{"message": None}]}, "response field choices[0].message is missing"),
    ({"choices": [{"message": "hi"}]}, "response field choices[0].message is not an object"),
    (
        {"choices": [{"message": {"content": 5}}]},
        "response field choices[0].message.content is not an array",
    ),
    (
        {"choices": [{"message": {"content": ["x"]}}]},
        "response field choices[0].message.content[0] is not an object",
    ),
    (
        {"choices": [{"message": {"content": None, "refusal": {"a": 1}}}]},
        "response field choices[0].message.refusal is not a string",
    ),
    ({"choices": [{"message": _MSG}], "model": 7}, "response field model is not a string"),
]
_BLOCK = {"type": "text", "text": "hi"}
ANTHROPIC: list[tuple[Any, str]] = [
    ("just a string", "response field (body) is not an object"),
    ({"type": "message"}, "response field content is not an array"),
    ({"content": "hi"}, "response field content is not an array"),
    ({"content": ["x"]}, "response field content[0] is not an object"),
    ({"content": [_BLOCK, None]}, "response field content[1] is missing"),
    ({"content": [{"type": "text", "text": 3}]}, "response field content[0].text is not a string"),
    ({"content": [{"type": "text", "text": ["a"]}]}, "response field content[0].text is not"),
    ({"content": [_BLOCK], "model": ["m"]}, "response field model is not a string"),
    ({"content": [_BLOCK], "id": 12}, "response field id is not a string"),
]
_CAND = {"content": {"parts": [{"text": "hi"}]}}
GEMINI: list[tuple[Any, str]] = [
    (None, "response field (body) is missing"),
    ({"candidates": [None]}, "response field candidates[0] is missing"),
    ({"candidates": ["x"]}, "response field candidates[0] is not an object"),
    ({"candidates": "x"}, "response field candidates is not an array"),
    ({"candidates": []}, "response field candidates is missing or empty"),
    ({"candidates": [{"content": "hi"}]}, "response field candidates[0].content is not an object"),
    (
        {"candidates": [{"content": {"parts": {"text": "hi"}}}]},
        "response field candidates[0].content.parts is not an array",
    ),
    (
        {"candidates": [{"content": {"parts": ["hi"]}}]},
        "response field candidates[0].content.parts[0] is not an object",
    ),
    (
        {"candidates": [{"content": {"parts": [{"text": 1}]}}]},
        "response field candidates[0].content.parts[0].text is not a string",
    ),
    ({"promptFeedback": "x"}, "response field promptFeedback is not an object"),
    ({"candidates": [_CAND], "responseId": 5}, "response field responseId is not a string"),
]
CASES = [
    *(("openai/gpt-4o-mini", "openai", b, m) for b, m in OPENAI),
    *(("anthropic/claude-haiku-4-5", "anthropic", b, m) for b, m in ANTHROPIC),
    *(("gemini/gemini-2.5-flash", "gemini", b, m) for b, m in GEMINI),
]


@pytest.mark.parametrize(("target", "wire", "body", "message"), CASES)
def test_malformed_body_is_bad_response_naming_the_field(
    fake_llm: FakeLLM,
    fake_project: Project,
    fake_env: dict[str, str],
    target: str,
    wire: str,
    body: Any,
    message: str,
) -> None:
    fake_llm.raw(json.dumps(body).encode(), wire=wire)
    harness = Harness(fake_project, fake_env)
    with pytest.raises(ProviderError) as info:
        harness.run(chat(target))
    assert info.value.kind == "bad_response"
    assert f"{target}: bad_response: {message}" in info.value.message
    assert fake_llm.calls[wire] == 1  # a malformed body is not retried
    assert [r.error_kind for r in harness.records] == ["bad_response"]


def test_malformed_body_falls_over_to_the_next_target(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.raw({"choices": [{"message": None}]}, wire="openai")
    harness = Harness(fake_project, fake_env)
    response = harness.run(chat("openai/gpt-4o-mini"), [chat("anthropic/claude-haiku-4-5")])
    assert response.text == "hello from fake"
    (skipped,) = response.fallbacks_tried
    assert skipped.reason == "bad_response"
    assert "choices[0].message is missing" in skipped.message


def test_text_parts_content_of_compatible_servers_is_read(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    body = {"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]}
    fake_llm.raw(body, wire="openai")
    response = Harness(fake_project, fake_env).run(chat("local/llama3"))
    assert response.text == "ab"
