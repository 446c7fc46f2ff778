"""ChatRequest.cache_key: memoised, and equal to the documented payload's SHA-256."""

from __future__ import annotations

import hashlib
import json

from promptctl.plan.request import ChatRequest
from promptctl.promptfile.chat import ChatMessage, ResponseFormat


def _reference_key(request: ChatRequest, repeat: int) -> str:
    payload = json.dumps(
        {"request": request.canonical(), "repeat": repeat},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def test_cache_key_matches_the_canonical_payload_and_separates_repeats() -> None:
    request = ChatRequest(
        "openai",
        "gpt-4o-mini",
        (ChatMessage("system", "Réponds en français ✓"), ChatMessage("user", 'say "hi"')),
        temperature=0.3,
        max_tokens=40,
        stop=("\n\n",),
        response_format=ResponseFormat("json_schema", schema={"type": "object", "b": [1, 2.5]}),
        extra={"top_k": 5, "nested": {"z": 1, "a": None}},
    )
    keys = [request.cache_key(repeat=r) for r in range(3)]
    assert keys == [_reference_key(request, r) for r in range(3)]
    assert len(set(keys)) == 3
    assert request.cache_key(repeat=1) == keys[1]  # memoised form gives the same answer
    other = ChatRequest("openai", "gpt-4o-mini", request.messages, temperature=0.4)
    assert other.cache_key() == _reference_key(other, 0) != keys[0]
