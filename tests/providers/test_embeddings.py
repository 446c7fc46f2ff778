"""`Gateway.embed` against the fake server: wires, batching, retries, fallback, cost, records."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import math
import random
import struct
from collections.abc import Sequence
from typing import Any

import pytest

from fakes import http
from fakes.llm_server import FakeLLM
from fakes.more_wires import text_vector
from promptctl.errors import ProviderError, UsageError
from promptctl.promptfile.model import PriceOverride, Project
from promptctl.providers.embeddings import EmbedResult, batches
from promptctl.providers.gateway import Gateway
from promptctl.providers.types import CallRecord

TEXTS = ["the refund policy", "shipping takes two days", "reset your password"]


class Embedder:
    """A gateway on the fake whose sleeps are skipped and whose records are kept."""

    def __init__(self, project: Project, env: dict[str, str], **kwargs: Any) -> None:
        self.records: list[CallRecord] = []
        self.waits: list[float] = []
        kwargs.setdefault("rng", random.Random(7))
        self.gateway = Gateway(
            project,
            env=env,
            use_cache=False,
            on_call=self.records.append,
            sleep=self._sleep,
            sync_sleep=self.waits.append,
            **kwargs,
        )

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def embed(self, texts: Sequence[str], model: str, **kwargs: Any) -> EmbedResult:
        async def go() -> EmbedResult:
            try:
                return await self.gateway.embed(texts, model=model, **kwargs)
            finally:
                await self.gateway.aclose()

        return asyncio.run(go())

    def embed_sync(self, texts: Sequence[str], model: str, **kwargs: Any) -> EmbedResult:
        try:
            return self.gateway.embed_sync(texts, model=model, **kwargs)
        finally:
            self.gateway.close()


@pytest.fixture
def embedder(fake_project: Project, fake_env: dict[str, str]) -> Embedder:
    return Embedder(fake_project, fake_env)


def test_openai_request_vectors_usage_cost_and_record(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    result = embedder.embed(TEXTS, "openai/text-embedding-3-small")
    (sent,) = fake_llm.requests
    assert sent.path == "/v1/embeddings"
    assert sent.headers["authorization"] == "Bearer sk-test-openai-0123456789abcdef"
    assert sent.body == {
        "model": "text-embedding-3-small",
        "input": TEXTS,
        "encoding_format": "base64",
    }
    assert result.vectors == [text_vector(t, 1536) for t in TEXTS]  # base64 float32, decoded
    assert (result.model, result.dimensions, result.requests) == (
        "openai/text-embedding-3-small",
        1536,
        1,
    )
    assert result.usage.input_tokens == 10 and result.usage.output_tokens == 0
    assert result.cost_usd == pytest.approx(10 * 0.02 / 1_000_000, rel=1e-12)
    (record,) = embedder.records
    assert (record.outcome, record.context.operation, record.target) == (
        "ok",
        "embed",
        "openai/text-embedding-3-small",
    )
    assert record.usage.input_tokens == 10 and record.cost_usd == result.cost_usd
    assert record.request_hash and len(record.request_hash) == 64


def test_blocking_path_gives_the_same_answer(fake_llm: FakeLLM, embedder: Embedder) -> None:
    result = embedder.embed_sync(TEXTS, "openai/text-embedding-3-small", dimensions=32)
    assert fake_llm.requests[0].body["dimensions"] == 32
    assert result.vectors == [text_vector(t, 32) for t in TEXTS]


def test_compatible_server_gets_float_arrays_and_no_key(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    fake_llm.embed_dims["nomic-embed-text"] = 16
    result = embedder.embed(["one text"], "local/nomic-embed-text")
    (sent,) = fake_llm.requests
    assert sent.body == {"model": "nomic-embed-text", "input": ["one text"]}
    assert "authorization" not in sent.headers
    assert result.vectors == [text_vector("one text", 16)]
    assert result.cost_usd is None  # no price for a local model: unknown, not free


def test_gemini_batch_embed_body_usage_and_cost(
    fake_llm: FakeLLM, embedder: Embedder, fake_env: dict[str, str]
) -> None:
    result = embedder.embed(TEXTS, "gemini/gemini-embedding-001", dimensions=48)
    (sent,) = fake_llm.requests
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.headers["x-goog-api-key"] == fake_env["GEMINI_API_KEY"]
    assert sent.body == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": t}]},
                "outputDimensionality": 48,
            }
            for t in TEXTS
        ]
    }
    assert result.vectors == [text_vector(t, 48) for t in TEXTS]
    assert result.cost_usd == pytest.approx(10 * 0.15 / 1_000_000, rel=1e-12)


def test_gemini_without_usage_has_an_unknown_cost(fake_llm: FakeLLM, embedder: Embedder) -> None:
    fake_llm.gemini_embed_usage = False
    result = embedder.embed(TEXTS, "gemini/gemini-embedding-001")
    assert (result.usage_known, result.cost_usd) == (False, None)
    assert embedder.records[0].usage_known is False


def test_an_embedding_model_priced_at_zero_costs_zero_without_usage(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    fake_llm.gemini_embed_usage = False
    free = {"gemini/gemini-embedding-001": PriceOverride(input=0.0, output=0.0)}
    embedder = Embedder(dataclasses.replace(fake_project, pricing=free), fake_env)
    result = embedder.embed(TEXTS, "gemini/gemini-embedding-001")
    assert (result.usage_known, result.cost_usd) == (False, 0.0)
    assert embedder.records[0].cost_usd == 0.0


@pytest.mark.parametrize(
    ("model", "n", "sizes"),
    [
        ("openai/text-embedding-3-small", 2050, [2048, 2]),
        ("gemini/gemini-embedding-001", 250, [100, 100, 50]),
    ],
)
def test_batches_stay_within_provider_limits_and_keep_order(
    model: str, n: int, sizes: list[int], fake_llm: FakeLLM, embedder: Embedder
) -> None:
    texts = [f"text number {i}" for i in range(n)]
    result = embedder.embed(texts, model, dimensions=8)
    sent = [r.body.get("input") or r.body.get("requests") for r in fake_llm.requests]
    assert sorted(len(s) for s in sent) == sorted(sizes)
    assert result.vectors == [text_vector(t, 8) for t in texts]
    assert result.requests == len(sizes)
    assert result.usage.input_tokens == 3 * n
    assert [r.outcome for r in embedder.records] == ["ok"] * len(sizes)
    assert sum(r.usage.input_tokens for r in embedder.records) == 3 * n
    assert sum(r.cost_usd or 0 for r in embedder.records) == pytest.approx(result.cost_usd)


def test_batches_are_cut_by_bytes_too() -> None:
    """300,000 UTF-8 bytes per request bound its tokens below OpenAI's 300k-token cap."""
    texts = ("a" * 100_000, "é" * 50_000, "b" * 100_000, "c")
    assert batches(texts, 2048, 300_000) == [(0, 3), (3, 4)]
    assert batches(("x" * 400_000, "y"), 2048, 300_000) == [(0, 1), (1, 2)]
    assert batches(tuple("abcde"), 2, 300_000) == [(0, 2), (2, 4), (4, 5)]
    assert batches((), 2, 10) == []


def test_a_failed_request_is_retried_and_recorded(fake_llm: FakeLLM, embedder: Embedder) -> None:
    fake_llm.error(503, wire="openai-embed")
    result = embedder.embed(TEXTS, "openai/text-embedding-3-small")
    assert result.attempts == 2 and len(embedder.waits) == 1
    assert [(r.outcome, r.error_kind) for r in embedder.records] == [
        ("error", "overloaded"),
        ("ok", None),
    ]
    assert all(r.context.operation == "embed" for r in embedder.records)


def test_fallback_to_a_target_of_the_asked_dimension(fake_llm: FakeLLM, embedder: Embedder) -> None:
    for _ in range(4):  # 1 + max_retries
        fake_llm.error(500, wire="openai-embed")
    result = embedder.embed(
        TEXTS,
        "openai/text-embedding-3-small",
        fallbacks=["gemini/gemini-embedding-001"],
        dimensions=64,
    )
    assert result.model == "gemini/gemini-embedding-001"
    assert [(s.target, s.reason) for s in result.fallbacks_tried] == [
        ("openai/text-embedding-3-small", "server")
    ]
    assert result.vectors == [text_vector(t, 64) for t in TEXTS]
    assert embedder.records[-1].fallback_from == "openai/text-embedding-3-small"


def test_no_fallback_to_another_dimension(fake_llm: FakeLLM, embedder: Embedder) -> None:
    """text-embedding-3-small is 1536 wide natively, ada-002 too: but 3-large is 3072."""
    for _ in range(4):
        fake_llm.error(500, wire="openai-embed")
    with pytest.raises(ProviderError) as info:
        embedder.embed(
            TEXTS, "openai/text-embedding-3-small", fallbacks=["openai/text-embedding-3-large"]
        )
    assert "its dimension is 3072, not 1536" in info.value.message
    assert {r.body["model"] for r in fake_llm.requests} == {"text-embedding-3-small"}


def test_an_unknown_dimension_allows_no_fallback_until_known(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    """Dimensions unknown to the table are learned from each target's first answer."""
    fake_llm.embed_dims.update({"a-embed": 16, "b-embed": 16, "c-embed": 32})
    for _ in range(4):
        fake_llm.error(500, wire="openai-embed")
    with pytest.raises(ProviderError) as info:
        embedder.embed(TEXTS, "local/a-embed", fallbacks=["mistral/b-embed"])
    assert "dimension of local/a-embed is unknown" in info.value.message
    # once each has answered, its size is known: b (16) may stand in for a, c (32) not
    for model in ("local/a-embed", "mistral/b-embed", "mistral/c-embed"):
        embedder.embed(TEXTS[:1], model)
    for _ in range(4):
        fake_llm.error(500, wire="openai-embed")
    result = embedder.embed(
        TEXTS, "local/a-embed", fallbacks=["mistral/c-embed", "mistral/b-embed"]
    )
    assert result.model == "mistral/b-embed"
    assert [s.reason for s in result.fallbacks_tried] == ["server", "dimension"]


def test_an_answer_of_another_dimension_than_asked_is_refused(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    fake_llm.raw({"data": [{"index": 0, "embedding": [0.5] * 8}], "usage": {"prompt_tokens": 1}})
    with pytest.raises(ProviderError) as info:
        embedder.embed(["x"], "local/some-embed", dimensions=16)
    assert info.value.kind == "bad_response" and "expected 16" in info.value.message
    assert embedder.records[0].outcome == "ok"  # it was paid for: the ledger says so


@pytest.mark.parametrize(
    "answer",
    [
        {"data": [{"index": 0, "embedding": "not base64!"}], "usage": {"prompt_tokens": 1}},
        {"data": [{"index": 0, "embedding": [1, "x"]}], "usage": {"prompt_tokens": 1}},
        {"data": [], "usage": {"prompt_tokens": 1}},
        {"data": [{"index": 5, "embedding": [1.0]}], "usage": {"prompt_tokens": 1}},
        # numbers Python's JSON reads that no vector holds (before: returned to the caller,
        # or an OverflowError for the 400-digit integer)
        {"data": [{"index": 0, "embedding": [0.5, float("nan")]}], "usage": {"prompt_tokens": 1}},
        {"data": [{"index": 0, "embedding": [float("inf"), 0.5]}], "usage": {"prompt_tokens": 1}},
        {"data": [{"index": 0, "embedding": [10**400, 0.5]}], "usage": {"prompt_tokens": 1}},
        {  # float32 NaN bits, base64-encoded as OpenAI sends vectors
            "data": [
                {
                    "index": 0,
                    "embedding": base64.b64encode(struct.pack("<2f", 0.5, math.nan)).decode(),
                }
            ],
            "usage": {"prompt_tokens": 1},
        },
    ],
)
def test_malformed_answers_are_bad_response(
    answer: dict[str, Any], fake_llm: FakeLLM, embedder: Embedder
) -> None:
    for _ in range(4):
        fake_llm.raw(answer)
    with pytest.raises(ProviderError) as info:
        embedder.embed(["x"], "openai/text-embedding-3-small")
    assert info.value.kind == "bad_response"


def test_too_few_vectors_are_bad_response(fake_llm: FakeLLM, embedder: Embedder) -> None:
    one = {"data": [{"index": 0, "embedding": [0.5, 0.5]}], "usage": {"prompt_tokens": 2}}
    for _ in range(4):
        fake_llm.raw(one)
    with pytest.raises(ProviderError) as info:
        embedder.embed(["x", "y"], "local/some-embed")
    assert "1 vectors for 2 texts" in info.value.message


def test_a_provider_without_embeddings_is_a_config_error_before_any_call(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    with pytest.raises(ProviderError) as info:
        embedder.embed(TEXTS, "openai/text-embedding-3-small", fallbacks=["anthropic/claude"])
    assert info.value.kind == "config" and "has no embeddings API" in info.value.message
    assert fake_llm.requests == []


def test_no_embeddings_api_is_said_before_a_missing_key(
    fake_llm: FakeLLM, fake_project: Project, fake_env: dict[str, str]
) -> None:
    """Setting ANTHROPIC_API_KEY would not help: the error says what would."""
    no_key = {k: v for k, v in fake_env.items() if k != "ANTHROPIC_API_KEY"}
    with pytest.raises(ProviderError) as info:
        Embedder(fake_project, no_key).embed(TEXTS, "anthropic/claude-3-5-haiku-latest")
    assert "has no embeddings API" in info.value.message, info.value.message
    assert fake_llm.requests == []


@pytest.mark.parametrize(
    ("texts", "model", "message"),
    [
        (["ok", "  "], "openai/text-embedding-3-small", "text 1 is empty"),
        (["ok"], "text-embedding-3-small", "is not provider/model"),
        (["ok", 3], "openai/text-embedding-3-small", "text 1 is a int"),
    ],
)
def test_bad_arguments_are_usage_errors(
    texts: list[Any], model: str, message: str, fake_llm: FakeLLM, embedder: Embedder
) -> None:
    with pytest.raises(UsageError, match=message):
        embedder.embed(texts, model)
    assert fake_llm.requests == []


def test_nothing_to_embed_makes_no_call(fake_llm: FakeLLM, embedder: Embedder) -> None:
    result = embedder.embed([], "openai/text-embedding-3-small")
    assert result.vectors == [] and result.cost_usd == 0.0
    assert fake_llm.requests == [] and embedder.records == []


def test_a_single_string_is_one_text(fake_llm: FakeLLM, embedder: Embedder) -> None:
    result = embedder.embed("just one", "openai/text-embedding-3-small")  # type: ignore[arg-type]
    assert result.vectors == [text_vector("just one", 1536)]


def test_repeated_failures_open_the_circuit(
    fake_project: Project, fake_env: dict[str, str], fake_llm: FakeLLM
) -> None:
    embedder = Embedder(fake_project, fake_env, breaker_threshold=2)
    for _ in range(8):
        fake_llm.error(500, wire="openai-embed")
    for _ in range(2):
        with pytest.raises(ProviderError):
            embedder.embed(["x"], "openai/text-embedding-3-small")
    calls = fake_llm.calls["openai-embed"]
    with pytest.raises(ProviderError) as info:
        embedder.embed(["x"], "openai/text-embedding-3-small")
    assert info.value.kind == "circuit_open"
    assert fake_llm.calls["openai-embed"] == calls  # not called while open


def test_the_fakes_single_embed_content_route(fake_llm: FakeLLM) -> None:
    """`:embedContent` (one text) answers `{embedding: {values}}`, as Gemini does."""
    url = fake_llm.gemini_base + "/models/text-embedding-004:embedContent"
    body = {"model": "models/text-embedding-004", "content": {"parts": [{"text": "hi there"}]}}
    answer = http.post(url, json=body, timeout=5).json()
    assert answer["embedding"] == {"values": text_vector("hi there")}
    assert answer["usageMetadata"]["promptTokenCount"] == 2


def test_a_shortened_answer_is_not_taken_for_the_native_size(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    fake_llm.embed_dims["x-embed"] = 24
    assert embedder.embed(["a"], "local/x-embed", dimensions=8).dimensions == 8
    assert embedder.embed(["a"], "local/x-embed").dimensions == 24  # not "expected 8"


def test_a_fixed_size_model_is_skipped_when_another_size_is_asked(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    """ada-002 cannot shorten its vectors: asked for 512, it is passed over, never called."""
    with pytest.raises(ProviderError) as info:
        embedder.embed(["a"], "openai/text-embedding-ada-002", dimensions=512)
    assert "its dimension is 1536, not 512" in info.value.message
    assert fake_llm.requests == []
    result = embedder.embed(["a"], "openai/text-embedding-ada-002", dimensions=1536)
    assert "dimensions" not in fake_llm.requests[0].body  # ada-002 would answer 400
    assert result.dimensions == 1536


def test_replay_mode_refuses_to_embed(
    fake_project: Project, fake_env: dict[str, str], fake_llm: FakeLLM
) -> None:
    """Embeddings are never recorded: a replay run (CI without keys) must not call out."""
    embedder = Embedder(fake_project, fake_env, mode="replay")
    with pytest.raises(ProviderError) as info:
        embedder.embed(["x"], "openai/text-embedding-3-small")
    assert info.value.kind == "replay_missing" and "not recorded" in info.value.message
    assert fake_llm.requests == []


def test_gemini_gets_the_task_type_on_every_text_through_a_fallback_too(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    """A query and the documents it searches are embedded with different task types."""
    for _ in range(4):  # 1 + max_retries: the OpenAI primary fails over to Gemini
        fake_llm.error(500, wire="openai-embed")
    result = embedder.embed(
        TEXTS,
        "openai/text-embedding-3-small",
        fallbacks=["gemini/gemini-embedding-001"],
        dimensions=64,
        task_type="RETRIEVAL_DOCUMENT",
    )
    assert result.model == "gemini/gemini-embedding-001"
    openai_sent, gemini_sent = fake_llm.requests[0], fake_llm.requests[-1]
    assert set(openai_sent.body) == {"model", "input", "encoding_format", "dimensions"}
    assert [r["taskType"] for r in gemini_sent.body["requests"]] == ["RETRIEVAL_DOCUMENT"] * 3


def test_the_task_type_is_part_of_what_the_ledger_says_was_embedded(
    fake_llm: FakeLLM, embedder: Embedder
) -> None:
    for task_type in (None, "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", None):
        embedder.embed(TEXTS, "gemini/gemini-embedding-001", task_type=task_type)
    hashes = [r.request_hash for r in embedder.records]
    assert len(set(hashes)) == 3 and hashes[0] == hashes[3]
    assert "taskType" not in fake_llm.requests[0].body["requests"][0]


@pytest.mark.parametrize("task_type", ["retrieval_query", "QUERY", 3])
def test_a_task_type_gemini_does_not_know_is_a_usage_error_before_any_call(
    task_type: Any, fake_llm: FakeLLM, embedder: Embedder
) -> None:
    with pytest.raises(UsageError, match="is not one of Gemini's task types") as info:
        embedder.embed(TEXTS, "gemini/gemini-embedding-001", task_type=task_type)
    assert "RETRIEVAL_DOCUMENT" in str(info.value.hint)
    assert fake_llm.requests == []
