"""Answers of the fake server's newer routes: OpenAI Responses and the embeddings APIs.

Split from llm_server.py (which routes requests and injects faults) to keep that file
readable. Embedding vectors are bag-of-words counts hashed into `dims` buckets and
L2-normalised: deterministic, and texts sharing words are close in cosine similarity,
so a retrieval example ranks documents sensibly against the fake.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from typing import Any

__all__ = [
    "DEFAULT_DIMS",
    "NATIVE_DIMS",
    "embeddings_body",
    "gemini_embed_body",
    "responses_body",
    "text_vector",
    "word_tokens",
]

DEFAULT_DIMS = 64
# the real models' sizes, so the runtime's table of native dimensions holds on the fake
NATIVE_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "gemini-embedding-001": 3072,
}
_WORD = re.compile(r"[a-z0-9]+")


def word_tokens(text: str) -> int:
    """The fake's token count of a text: its words (at least 1)."""
    return max(1, len(_WORD.findall(text.lower())))


def text_vector(text: str, dims: int = DEFAULT_DIMS) -> list[float]:
    """The fake embedding of `text`: normalised hashed word counts (float32 values)."""
    counts = [0.0] * dims
    for word in _WORD.findall(text.lower()):
        counts[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % dims] += 1.0
    norm = math.sqrt(sum(c * c for c in counts)) or 1.0
    # rounded through float32, as a real server's values are
    return list(struct.unpack(f"<{dims}f", struct.pack(f"<{dims}f", *(c / norm for c in counts))))


def embeddings_body(body: dict[str, Any], dims_for: dict[str, int]) -> dict[str, Any]:
    """`POST /v1/embeddings` (OpenAI, Azure, compatible servers)."""
    model = str(body.get("model", ""))
    raw = body.get("input", [])
    texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
    dims = int(body.get("dimensions") or dims_for.get(model, DEFAULT_DIMS))
    data = []
    for i, text in enumerate(texts):
        vector = text_vector(text, dims)
        value: Any = vector
        if body.get("encoding_format") == "base64":
            value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    tokens = sum(word_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def gemini_embed_body(
    path: str, body: dict[str, Any], dims_for: dict[str, int], usage: bool
) -> dict[str, Any]:
    """`:batchEmbedContents` (and the single `:embedContent`); `usage`: send usageMetadata."""
    match = re.search(r"models/([^:]+):", path)
    model = match.group(1) if match else ""
    single = ":embedContent" in path
    requests = [body] if single else list(body.get("requests", []))
    out, tokens = [], 0
    for req in requests:
        text = "".join(str(p.get("text", "")) for p in req.get("content", {}).get("parts", []))
        dims = int(req.get("outputDimensionality") or dims_for.get(model, DEFAULT_DIMS))
        out.append({"values": text_vector(text, dims)})
        tokens += word_tokens(text)
    answer: dict[str, Any] = {"embedding": out[0]} if single else {"embeddings": out}
    if usage:
        answer["usageMetadata"] = {"promptTokenCount": tokens, "totalTokenCount": tokens}
    return answer


def responses_body(
    body: dict[str, Any], text: str, usage: dict[str, Any], response_id: str
) -> dict[str, Any]:
    """A completed `POST /v1/responses` answer carrying `text`."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "model": body.get("model", ""),
        "tools": body.get("tools", []),
        "tool_choice": body.get("tool_choice", "auto"),
        "parallel_tool_calls": True,
        "metadata": {},
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                ],
            }
        ],
        "usage": usage,
    }
