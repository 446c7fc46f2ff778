"""Context windows (input tokens) of current models, and a cheap token estimate.

Figures from the providers' published model pages as collected in LiteLLM's price table (2026).
Lint warns when a rendered test prompt plus `max_tokens` would not fit; the call plan
trims history or fails over before sending a request that would not.
"""

from __future__ import annotations

__all__ = ["CONTEXT_WINDOWS", "context_window", "estimate_tokens"]

CONTEXT_WINDOWS: dict[str, int] = {
    "openai/gpt-4o": 128_000,
    "openai/gpt-4o-mini": 128_000,
    "openai/gpt-4.1": 1_047_576,
    "openai/gpt-4.1-mini": 1_047_576,
    "openai/gpt-5": 272_000,
    "openai/gpt-5-mini": 272_000,
    "openai/o4-mini": 200_000,
    "openai/gpt-5.5": 1_050_000,
    "anthropic/claude-sonnet-4-5": 200_000,
    "anthropic/claude-haiku-4-5": 200_000,
    "anthropic/claude-opus-4-5": 200_000,
    "anthropic/claude-sonnet-4-6": 1_000_000,
    "anthropic/claude-3-5-haiku-latest": 200_000,
    "gemini/gemini-2.5-pro": 1_048_576,
    "gemini/gemini-2.5-flash": 1_048_576,
    "gemini/gemini-2.5-flash-lite": 1_048_576,
    "mistral/mistral-large-latest": 128_000,
    "mistral/mistral-medium": 131_072,
    "mistral/mistral-small-latest": 32_000,
}


def context_window(target: str) -> int | None:
    """Window of `provider/model`, also matching dated ids (`gpt-4o-2024-08-06`)."""
    if target in CONTEXT_WINDOWS:
        return CONTEXT_WINDOWS[target]
    best = ""
    for known in CONTEXT_WINDOWS:
        if target.startswith(known + "-") and len(known) > len(best):
            best = known
    return CONTEXT_WINDOWS[best] if best else None


def estimate_tokens(text: str) -> int:
    """An upper-biased token count: `ceil(utf8_bytes / 3)`.

    BPE tokenizers average ~4 bytes per token on English prose and ~3 on code, so this
    errs high (never sends a request the window cannot take); see
    `promptctl.promptfile.history` and docs/prompt-format.md, "History".
    """
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return -(-size // 3)
