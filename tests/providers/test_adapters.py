"""Each adapter against the fake server: the exact request sent, the parsed answer and cost."""

from __future__ import annotations

import pytest
from provider_helpers import Harness, chat

from fakes.llm_server import FakeLLM
from promptctl.promptfile.chat import ResponseFormat
from promptctl.promptfile.model import Project, ProviderSettings
from promptctl.providers.types import Usage

SCHEMA = {
    "type": "object",
    "properties": {"category": {"type": "string"}},
    "required": ["category"],
    "additionalProperties": False,
}


def test_openai_exact_request_usage_and_cost(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("billing")
    fake_llm.usage["openai"] = {
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    request = chat(
        "openai/gpt-4o-mini",
        ("system", "Classify."),
        ("user", "refund please"),
        temperature=0.0,
        max_tokens=50,
        stop=("END",),
        seed=3,
        response_format=ResponseFormat("json_schema", schema=SCHEMA, name="triage"),
    )
    response = Harness(fake_project, fake_env).run(request)
    sent = fake_llm.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-openai-0123456789abcdef"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Classify."},
            {"role": "user", "content": "refund please"},
        ],
        "temperature": 0.0,
        "max_tokens": 50,
        "stop": ["END"],
        "seed": 3,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "triage", "schema": SCHEMA, "strict": True},
        },
    }
    assert response.text == "billing"
    assert response.target == "openai/gpt-4o-mini"
    assert response.model_reported == "gpt-4o-mini"
    assert response.usage == Usage(input_tokens=1000, output_tokens=200, cached_input_tokens=400)
    # gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out per 1M: 600*.15 + 400*.075 + 200*.6 = 240
    assert response.cost_usd == pytest.approx(240e-6)
    assert response.attempts == 1 and not response.cached


def test_openai_reasoning_model_uses_max_completion_tokens(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.usage["openai"] = {
        "prompt_tokens": 1486,
        "completion_tokens": 651,
        "prompt_tokens_details": {"cached_tokens": 1408},
        "completion_tokens_details": {"reasoning_tokens": 512},
    }
    request = chat("openai/o4-mini", max_tokens=500, temperature=0.0, seed=1)
    response = Harness(fake_project, fake_env).run(request)
    body = fake_llm.requests[0].body
    assert body["max_completion_tokens"] == 500 and "max_tokens" not in body
    assert "temperature" not in body and body["seed"] == 1
    assert response.usage.reasoning_tokens == 512 and response.usage.output_tokens == 651
    # o4-mini: 1.10 in, 0.275 cached, 4.40 out: 78*1.1 + 1408*.275 + 651*4.4 = 3337.4
    assert response.cost_usd == pytest.approx(3337.4e-6)


def test_anthropic_exact_request_and_cache_cost(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply("ok")
    fake_llm.usage["anthropic"] = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 500,
        "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 200},
    }
    request = chat(
        "anthropic/claude-haiku-4-5",
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", "Hello"),
        ("user", "Price?"),
        temperature=0.5,
        stop=("\n\n",),
    )
    response = Harness(fake_project, fake_env).run(request)
    sent = fake_llm.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test-0123456789abcdef"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
            {"role": "user", "content": [{"type": "text", "text": "Price?"}]},
        ],
        "temperature": 0.5,
        "stop_sequences": ["\n\n"],
    }
    assert response.usage == Usage(
        input_tokens=1600,
        output_tokens=50,
        cached_input_tokens=1000,
        cache_write_tokens=500,
        cache_write_1h_tokens=200,
    )
    # haiku 4.5: in 1, read .1, write 5m 1.25, write 1h 2, out 5:
    # 100*1 + 1000*.1 + 300*1.25 + 200*2 + 50*5 = 1225
    assert response.cost_usd == pytest.approx(1225e-6)


def test_gemini_exact_request_thoughts_and_cached_cost(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.reply('{"category": "bug"}')
    fake_llm.usage["gemini"] = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 600,
        "candidatesTokenCount": 100,
        "thoughtsTokenCount": 300,
        "totalTokenCount": 1400,
    }
    request = chat(
        "gemini/gemini-2.5-flash",
        ("system", "Classify."),
        ("user", "crash"),
        max_tokens=64,
        seed=1,
        response_format=ResponseFormat("json_schema", schema=SCHEMA),
    )
    response = Harness(fake_project, fake_env).run(request)
    sent = fake_llm.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert "key=" not in sent.path
    assert sent.headers["x-goog-api-key"] == "AIzaFakeGeminiKey0123456789abcdef"
    assert sent.body == {
        "contents": [{"role": "user", "parts": [{"text": "crash"}]}],
        "systemInstruction": {"parts": [{"text": "Classify."}]},
        "generationConfig": {
            "maxOutputTokens": 64,
            "seed": 1,
            "responseMimeType": "application/json",
            "responseSchema": {
                "type": "OBJECT",
                "properties": {"category": {"type": "STRING"}},
                "required": ["category"],
            },
        },
    }
    assert response.text == '{"category": "bug"}'
    assert response.usage == Usage(
        input_tokens=1000, output_tokens=400, cached_input_tokens=600, reasoning_tokens=300
    )
    # 2.5 flash: in .30, cached .03, out 2.50: 400*.3 + 600*.03 + 400*2.5 = 1138
    assert response.cost_usd == pytest.approx(1138e-6)


def test_openai_compatible_dialects_and_azure(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    harness = Harness(fake_project, fake_env)
    local = harness.run(chat("local/llama3", max_tokens=10, seed=5))
    harness.run(chat("mistral/mistral-small-latest", seed=5))
    harness.run(chat("azure/my-gpt4o", max_tokens=10))
    compat, mistral, azure = fake_llm.requests
    assert compat.path == "/v1/chat/completions"
    assert "authorization" not in compat.headers
    assert compat.body["max_tokens"] == 10 and compat.body["seed"] == 5
    assert local.cost_usd is None  # unknown local model: unknown cost, never 0
    assert mistral.body["random_seed"] == 5 and "seed" not in mistral.body
    assert azure.path == "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    assert azure.headers["api-key"] == "azure-secret-0123456789abcdef"
    assert "authorization" not in azure.headers


def test_gemini_prompt_block_is_content_filter(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    from promptctl.errors import ProviderError
    from promptctl.providers.gemini import ADAPTER

    with pytest.raises(ProviderError) as info:
        ADAPTER.parse_response(200, {}, b'{"promptFeedback": {"blockReason": "SAFETY"}}')
    assert info.value.kind == "content_filter"


def test_gemini_schema_conversion() -> None:
    from promptctl.providers.gemini import gemini_schema

    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1},
            "note": {"type": ["string", "null"], "description": "free text"},
        },
    }
    assert gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "tags": {
                "type": "ARRAY",
                "items": {"type": "STRING", "enum": ["a", "b"]},
                "minItems": "1",  # int64: a JSON string in Google's API
            },
            "note": {"type": "STRING", "nullable": True, "description": "free text"},
        },
    }


def test_llama_cpp_python_takes_the_schema_as_a_json_object_format() -> None:
    """Its server answers `type: json_schema` with HTTP 500 ("Input should be 'text' or
    'json_object'", checked against llama-cpp-python's server) and enforces a schema given
    as `{type: json_object, schema}`; other dialects keep OpenAI's form."""
    from promptctl.providers.openai_compatible import ADAPTER

    request = chat("local/smollm", response_format=ResponseFormat("json_schema", schema=SCHEMA))
    llama = ProviderSettings(
        "local", "openai-compatible", "http://x/v1", None, dialect="llama-cpp-python"
    )
    wire = ADAPTER.build_request(request, llama, None)
    assert wire.body["response_format"] == {"type": "json_object", "schema": SCHEMA}
    plain = ProviderSettings("local", "openai-compatible", "http://x/v1", None)
    wire = ADAPTER.build_request(request, plain, None)
    assert wire.body["response_format"]["type"] == "json_schema"
    assert wire.body["response_format"]["json_schema"]["schema"] == SCHEMA
    json_mode = chat("local/smollm", response_format=ResponseFormat("json"))
    wire = ADAPTER.build_request(json_mode, llama, None)
    assert wire.body["response_format"] == {"type": "json_object"}
