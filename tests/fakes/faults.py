"""The provider faults every call path must survive, as a table for parametrised tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fakes.llm_server import FakeLLM

OPENAI = "openai/gpt-4o-mini"
ANTHROPIC = "anthropic/claude-3-5-haiku-latest"
GEMINI = "gemini/gemini-2.0-flash"
PRIMARY = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}
TIMEOUT_S = 0.3  # the client timeout the tables assume (the timeout fault waits 3x)


@dataclass(frozen=True)
class Case:
    name: str
    wire: str  # the primary's wire format; the fault hits only that wire
    inject: Callable[[FakeLLM, str], None]  # (fake, wire)
    kind: str
    retried: bool
    waits: tuple[float, ...] | None = None  # exact server-hinted waits, when hinted


ECHO_KEY = "invalid request from sk-test-openai-0123456789abcdef"  # a key echoed back
MISSING = {"id": "x", "object": "chat.completion"}
TRUNCATED = b'{"id": "x", "choices": [{"mess'


DEEP = b"[" * 100_000 + b"]" * 100_000


def _blocked(fake: FakeLLM, wire: str) -> None:
    fake.raw({"promptFeedback": {"blockReason": "SAFETY"}}, wire=wire)


CASES = [
    Case("429 retry-after", "openai", lambda f, w: f.rate_limit(retry_after="0.02", wire=w),
         "rate_limit", True, (0.02,)),
    Case("429 retry-after-ms", "openai", lambda f, w: f.rate_limit(retry_after_ms="7", wire=w),
         "rate_limit", True, (0.007,)),
    Case("quota 429", "openai", lambda f, w: f.quota(wire=w), "quota", False),
    Case("500", "openai", lambda f, w: f.error(500, message=ECHO_KEY, wire=w),
         "server", True),
    Case("503", "openai", lambda f, w: f.error(503, wire=w), "overloaded", True),
    Case("anthropic 529", "anthropic", lambda f, w: f.error(529, wire=w), "overloaded", True),
    Case("timeout", "openai", lambda f, w: f.timeout(TIMEOUT_S * 3, wire=w), "timeout", True),
    Case("dropped mid-response", "openai", lambda f, w: f.cut(wire=w), "network", True),
    Case("non-JSON 200", "openai", lambda f, w: f.non_json(200, wire=w), "bad_response", False),
    Case("200 missing fields", "openai", lambda f, w: f.raw(MISSING, wire=w),
         "bad_response", False),
    Case("truncated JSON", "openai", lambda f, w: f.raw(TRUNCATED, wire=w),
         "bad_response", False),
    Case("gemini promptFeedback", "gemini", _blocked, "content_filter", False),
    # nested past Python's stack: "internal: RecursionError" before
    Case("JSON 100,000 deep", "anthropic", lambda f, w: f.raw(DEEP, wire=w),
         "bad_response", False),
]  # fmt: skip
