"""Each adapter's wire errors map to the right kind (pure parse_response, no server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptctl.errors import ProviderError
from promptctl.providers.base import load_adapter, retry_after_from_headers, scrub


def _kind(
    kind: str, status: int, body: Any, headers: dict[str, str] | None = None
) -> ProviderError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ProviderError) as info:
        load_adapter(kind).parse_response(status, headers or {}, raw)
    return info.value


@pytest.mark.parametrize(
    ("adapter", "status", "body", "expected"),
    [
        (
            "openai",
            400,
            {"error": {"message": "too long", "code": "context_length_exceeded"}},
            "context_length",
        ),
        ("openai", 429, {"error": {"message": "quota", "code": "insufficient_quota"}}, "quota"),
        (
            "openai",
            429,
            {"error": {"message": "slow down", "code": "rate_limit_exceeded"}},
            "rate_limit",
        ),
        ("openai", 401, {"error": {"message": "bad key", "code": "invalid_api_key"}}, "auth"),
        (
            "openai",
            404,
            {"error": {"message": "no such model", "code": "model_not_found"}},
            "model_retired",
        ),
        ("openai", 503, {"error": {"message": "busy"}}, "overloaded"),
        ("openai", 502, b"<html>bad gateway</html>", "server"),
        ("openai", 200, {"choices": []}, "bad_response"),
        (
            "azure",
            400,
            {"error": {"message": "filtered", "code": "content_filter"}},
            "content_filter",
        ),
        ("openai-compatible", 422, {"detail": "bad field"}, "bad_request"),
        (
            "anthropic",
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "x"}},
            "overloaded",
        ),
        (
            "anthropic",
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 210000 tokens > 200000 maximum",
                },
            },
            "context_length",
        ),
        (
            "anthropic",
            402,
            {"type": "error", "error": {"type": "billing_error", "message": "x"}},
            "quota",
        ),
        ("anthropic", 200, {"type": "message", "content": "oops"}, "bad_response"),
        (
            "gemini",
            503,
            {"error": {"code": 503, "message": "The model is overloaded", "status": "UNAVAILABLE"}},
            "overloaded",
        ),
        (
            "gemini",
            403,
            {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}},
            "auth",
        ),
        ("gemini", 200, {"candidates": []}, "bad_response"),
    ],
)
def test_error_kinds(adapter: str, status: int, body: Any, expected: str) -> None:
    assert _kind(adapter, status, body).kind == expected


def test_anthropic_spend_limit_is_quota_not_rate_limit() -> None:
    body = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "limit",
            "details": {"error_code": "enforced_spend_limit_reached"},
        },
    }
    error = _kind("anthropic", 429, body, {"retry-after": "5"})
    assert error.kind == "quota" and not error.retryable


def test_unknown_finish_reasons_map_to_other() -> None:
    body = {
        "type": "message",
        "model": "m",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": "pause_turn",
        "usage": {},
    }
    parsed = load_adapter("anthropic").parse_response(200, {}, json.dumps(body).encode())
    assert parsed.finish_reason == "other" and parsed.text == "x"


def test_retry_after_parsing() -> None:
    assert retry_after_from_headers({"retry-after-ms": "250"}) == 0.25
    assert retry_after_from_headers({"retry-after": "1.5"}) == 1.5
    assert retry_after_from_headers({"retry-after": "soon"}) is None
    assert retry_after_from_headers({}) is None


@pytest.mark.parametrize("raw", ["inf", "nan", "-inf", "1e400", "9" * 5000, "Infinity"])
def test_a_retry_after_that_is_no_number_of_seconds_is_no_hint(raw: str) -> None:
    """`float()` reads these; the fleet's pause then did `int(inf * 1000)`: an
    OverflowError out of the call's error handling."""
    assert retry_after_from_headers({"retry-after": raw}) is None
    assert retry_after_from_headers({"retry-after-ms": raw}) is None


def test_scrub_removes_given_secret_and_key_shapes() -> None:
    text = (
        "key sk-abcdefghijklmnop and AIzaSyA1234567890abcdefghijk"
        " and Bearer abc.def.ghi123 and mine-secret-1"
    )
    out = scrub(text, ("mine-secret-1",))
    for secret in (
        "sk-abcdefghijklmnop",
        "AIzaSyA1234567890abcdefghijk",
        "abc.def.ghi123",
        "mine-secret-1",
    ):
        assert secret not in out
    assert out.count("[redacted]") == 4


def test_unknown_kind_is_config_error() -> None:
    with pytest.raises(ProviderError) as info:
        load_adapter("bedrock")
    assert info.value.kind == "config" and "openai-compatible" in str(info.value)
