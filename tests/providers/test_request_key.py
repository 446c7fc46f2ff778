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


def _generic_json(request: ChatRequest) -> str:
    return json.dumps(
        request.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_canonical_json_of_shared_fields_and_plain_messages_is_byte_for_byte() -> None:
    """The key's JSON is built from the other fields' JSON (kept per shared values) and
    plain messages written directly: every shape must give the generic encoder's bytes."""
    from dataclasses import replace

    from promptctl.promptfile.chat import ToolCall, ToolSpec

    shell = ChatRequest(
        "openai",
        "gpt-4o-mini",
        (),
        temperature=0.0,
        max_tokens=5,
        stop=("\n",),
        response_format=ResponseFormat("json_schema", schema={"z": 1, "a": {"b": [1, None]}}),
        extra={"top_k": 3, "messages": "\x00promptctl:messages\x00"},  # the mark as a value
        tools=(ToolSpec("look", "finds", {"type": "object"}),),
        tool_choice="auto",
    )
    texts = ["", "plain", 'q "uoted" \\ back', "tab\tnew\nline\r\x00\x1f", "Réponse ✓ 🎉"]
    messages_sets = [
        tuple(ChatMessage("user", t) for t in texts),
        (ChatMessage("system", "s"), ChatMessage("assistant", "", tool_calls=())),
        (ChatMessage("assistant", "x", tool_calls=(ToolCall("c1", "look", {"q": 1}),)),),
        (ChatMessage("tool", "42", tool_call_id="c1", name="look"),),
        (ChatMessage("user", "list tool calls", tool_calls=[]),),  # type: ignore[arg-type]
        (),
    ]
    plain = ChatRequest("anthropic", "claude", ())
    for base in (shell, plain, replace(shell, extra={}), replace(plain, temperature=0.5)):
        for messages in messages_sets:
            request = replace(base, messages=messages)
            assert request._canonical_json() == _generic_json(request)
            assert request.cache_key(repeat=2) == _reference_key(request, 2)


def test_with_messages_is_replace_without_the_memos() -> None:
    from dataclasses import replace

    shell = ChatRequest("openai", "gpt-4o-mini", (), temperature=0.2, extra={"top_k": 2})
    shell.cache_key()  # memoised on the shell: must not leak into the copies
    messages = (ChatMessage("user", "hi"),)
    made = shell.with_messages(messages)
    assert made == replace(shell, messages=messages) and made is not shell
    assert made.messages is messages and made.extra is shell.extra
    assert made.cache_key() == _reference_key(made, 0) != shell.cache_key()
    assert made._canonical_json() == _generic_json(made)
