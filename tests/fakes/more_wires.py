"""Answers of the fake server's newer routes: OpenAI Responses and the embeddings APIs.

Split from llm_server.py (which routes requests and injects faults) to keep that file
readable. Embedding vectors are bag-of-words counts hashed into `dims` buckets and
L2-normalised: deterministic, and texts sharing words are close in cosine similarity,
so a retrieval example ranks documents sensibly against the fake.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "DEFAULT_DIMS",
    "NATIVE_DIMS",
    "embeddings_body",
    "gemini_embed_body",
    "responses_body",
    "responses_error_event",
    "responses_events",
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


def _event(kind: str, seq: int, **fields: Any) -> bytes:
    data = json.dumps({"type": kind, "sequence_number": seq, **fields})
    return f"event: {kind}\ndata: {data}\n\n".encode()


def responses_events(
    body: dict[str, Any],
    pieces: list[str],
    usage: dict[str, Any] | None,
    calls: list[tuple[str, dict[str, Any] | str]],
    split: Callable[[str], list[str]],
) -> Iterator[tuple[bytes, bool]]:
    """A streamed `POST /v1/responses`: (event bytes, whether it carries a piece).

    response.created, then the message item (its text part, one output_text.delta per
    piece, the dones) or, with scripted `calls`, one function_call item each (arguments
    in function_call_arguments.delta pieces), then response.completed carrying the whole
    `Response` with its usage (left out when `usage` is None).
    """
    final = responses_body(body, "".join(pieces), usage or {}, "resp_fake")
    if usage is None:
        final.pop("usage")
    if calls:
        final["output"] = [
            {
                "type": "function_call",
                "id": f"fc_{i}",
                "call_id": f"call_fake_{i}",
                "name": name,
                "arguments": args if isinstance(args, str) else json.dumps(args),
                "status": "completed",
            }
            for i, (name, args) in enumerate(calls)
        ]
    seq = iter(range(1_000_000))
    started = {**final, "status": "in_progress", "output": []}
    started.pop("usage", None)
    yield _event("response.created", next(seq), response=started), False
    for index, item in enumerate(final["output"]):
        if item["type"] == "function_call":
            opened = {**item, "arguments": "", "status": "in_progress"}
            yield (
                _event("response.output_item.added", next(seq), output_index=index, item=opened),
                False,
            )
            at = {"item_id": item["id"], "output_index": index}
            for piece in split(item["arguments"]):
                yield (
                    _event("response.function_call_arguments.delta", next(seq), **at, delta=piece),
                    True,
                )
            done = {**at, "name": item["name"], "arguments": item["arguments"]}
            yield _event("response.function_call_arguments.done", next(seq), **done), False
        else:
            opened = {**item, "status": "in_progress", "content": []}
            yield (
                _event("response.output_item.added", next(seq), output_index=index, item=opened),
                False,
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            at = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield _event("response.content_part.added", next(seq), **at, part=part), False
            for piece in pieces:
                yield (
                    _event("response.output_text.delta", next(seq), **at, delta=piece, logprobs=[]),
                    True,
                )
            text = "".join(pieces)
            yield (
                _event("response.output_text.done", next(seq), **at, text=text, logprobs=[]),
                False,
            )
            done = {**part, "text": text}
            yield _event("response.content_part.done", next(seq), **at, part=done), False
        yield _event("response.output_item.done", next(seq), output_index=index, item=item), False
    yield _event("response.completed", next(seq), response=final), False


def responses_error_event(status: int, message: str) -> bytes:
    """The `error` event the Responses API sends mid-stream."""
    code = "rate_limit_exceeded" if status == 429 else "server_error"
    return _event("error", 99, code=code, message=message, param=None)
