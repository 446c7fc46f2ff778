"""Embeddings: the provider-neutral request and result, the wires, batching and dimensions.

An embeddings wire is, like a chat adapter, two pure functions (build one batch's HTTP
request, parse its answer) plus the provider's batch limits; `embed_chain` runs them
through the same limits, retries, breakers and ledger as chat calls.

Batch limits (inputs per HTTP request): OpenAI and compatible servers 2048 (the
`CreateEmbeddingRequest` array bound), Gemini `batchEmbedContents` 100. OpenAI also caps
a request at 300,000 tokens summed over its inputs; a token covers at least one byte of
UTF-8, so batches are also cut at 300,000 bytes, which can never exceed it.

Dimensions: vectors from models of different sizes cannot share an index, so fallback
is only between targets of the same dimension. A target's dimension is `dimensions`
when the call asks for one (sent as OpenAI `dimensions` / Gemini `outputDimensionality`),
else the size of its vectors the first time it answered in this gateway, else the
native size of a few well-known models (`NATIVE_DIMENSIONS`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptctl.errors import ProviderError
from promptctl.providers.types import SkippedTarget, Usage

if TYPE_CHECKING:  # `promptctl.runtime` imports this module: keep it light
    from promptctl.promptfile.model import ProviderSettings
    from promptctl.providers.base import WireRequest

__all__ = [
    "EMBED_WIRES",
    "NATIVE_DIMENSIONS",
    "TASK_TYPES",
    "EmbedParsed",
    "EmbedRequest",
    "EmbedResult",
    "EmbedWire",
    "batches",
    "embed_wire",
    "float_list",
    "native_dimension",
]

# Gemini's `taskType` values (EmbedContentRequest): a query and the documents it searches
# are embedded with different ones (RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT)
TASK_TYPES = (
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)


@dataclass(frozen=True)
class EmbedRequest:
    """Texts to embed with one `provider/model`; `dimensions` asks for shortened vectors,
    `task_type` tells Gemini what the vectors are for (other wires have no such field)."""

    provider: str
    model: str
    texts: tuple[str, ...]
    dimensions: int | None = None
    task_type: str | None = None

    @property
    def target(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class EmbedParsed:
    """One batch's answer: a vector per input, in input order."""

    vectors: list[list[float]]
    usage: Usage = field(default_factory=Usage)
    model_reported: str = ""
    usage_known: bool = True


@dataclass(frozen=True)
class EmbedResult:
    """What `Gateway.embed` and `Runtime.embed` return.

    `vectors[i]` embeds `texts[i]`; every vector has `dimensions` floats and comes from
    the one target `model` (a call never mixes models: a fallback re-embeds every text).
    `usage.input_tokens` and `cost_usd` sum the HTTP requests of the target that answered
    (`requests` of them; the ledger has a row for each, and for every failed attempt);
    `cost_usd` is None when the price or the usage is unknown (Gemini's API may send no
    token counts). `fallbacks_tried` lists the targets passed over, with the reason.
    """

    vectors: list[list[float]]
    model: str
    dimensions: int
    usage: Usage
    cost_usd: float | None
    latency_ms: float
    model_reported: str = ""
    requests: int = 0
    attempts: int = 0
    fallbacks_tried: tuple[SkippedTarget, ...] = ()
    usage_known: bool = True


BuildFn = Callable[["EmbedRequest", "ProviderSettings", "str | None"], "WireRequest"]
ParseFn = Callable[[int, Mapping[str, str], bytes], "EmbedParsed"]


@dataclass(frozen=True)
class EmbedWire:
    """One embeddings endpoint format and its per-request limits."""

    build: BuildFn
    parse: ParseFn
    max_inputs: int
    max_bytes: int = 300_000


# provider kind -> "module:attribute" of its EmbedWire, imported on first use
EMBED_WIRES: Mapping[str, str] = {
    "openai": "promptctl.providers.openai_embed:OPENAI",
    "openai-responses": "promptctl.providers.openai_embed:OPENAI",
    "azure": "promptctl.providers.openai_embed:AZURE",
    "openai-compatible": "promptctl.providers.openai_embed:COMPATIBLE",
    "gemini": "promptctl.providers.gemini_embed:GEMINI",
}


def embed_wire(settings: ProviderSettings) -> EmbedWire:
    """The embeddings wire of a provider; a config error for one that has none."""
    spec = EMBED_WIRES.get(settings.kind)
    if spec is None:
        raise ProviderError(
            "config",
            f"provider {settings.name!r} ({settings.kind}) has no embeddings API",
            provider=settings.name,
            hint="embed with an openai, azure, gemini or openai-compatible provider "
            "(Anthropic recommends Voyage AI, reachable as openai-compatible)",
        )
    module, attr = spec.split(":")
    wire = getattr(importlib.import_module(module), attr)
    assert isinstance(wire, EmbedWire)
    return wire


def batches(texts: tuple[str, ...], max_inputs: int, max_bytes: int) -> list[tuple[int, int]]:
    """`[start, end)` spans of `texts`, each within `max_inputs` items and `max_bytes`
    UTF-8 bytes (a single larger text is a span of its own: the provider judges it)."""
    spans: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, text in enumerate(texts):
        n = len(text) if text.isascii() else len(text.encode("utf-8"))
        if i > start and (i - start >= max_inputs or size + n > max_bytes):
            spans.append((start, i))
            start, size = i, 0
        size += n
    if start < len(texts):
        spans.append((start, len(texts)))
    return spans


# model id -> (native dimension, whether `dimensions` can shorten it)
NATIVE_DIMENSIONS: Mapping[str, tuple[int, bool]] = {
    "text-embedding-3-small": (1536, True),
    "text-embedding-3-large": (3072, True),
    "text-embedding-ada-002": (1536, False),
    "gemini-embedding-001": (3072, True),
    "text-embedding-004": (768, True),
    "mistral-embed": (1024, False),
}


def native_dimension(model: str) -> tuple[int, bool] | None:
    """`(size, shortenable)` of a well-known embedding model, by its id."""
    return NATIVE_DIMENSIONS.get(model.removeprefix("models/"))


def float_list(values: Any, field: str) -> list[float]:
    """A JSON array of finite numbers as floats; anything else is `bad_response`
    (`NaN`, `Infinity` and `1e400`, which Python's JSON reads, poison any index or
    similarity they reach; an integer of 400 digits is no float at all)."""
    if not isinstance(values, list) or not values:
        raise ProviderError("bad_response", f"response field {field} is not a vector")
    vector: list[float] = values
    if not all(type(v) is float for v in vector):  # what json.loads gives: no copy
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ProviderError("bad_response", f"response field {field} holds a non-number")
        try:
            vector = [float(v) for v in vector]
        except OverflowError:
            raise ProviderError(
                "bad_response", f"response field {field} holds a number too large"
            ) from None
    return finite_vector(vector, field)


def finite_vector(vector: list[float], field: str) -> list[float]:
    """`vector`, unless it holds NaN or an infinity (`bad_response`). One C-level sum
    tells (NaN and infinities carry into it; finite embedding values cannot overflow a
    double): ~50 µs for 16 x 1,536 values, where a Python test per value took ~1 ms."""
    if not math.isfinite(sum(vector)):
        raise ProviderError("bad_response", f"response field {field} holds NaN or an infinity")
    return vector
