"""The assertion names a test may use (each also with a `not-` prefix)."""

from __future__ import annotations

__all__ = ["ASSERTION_TYPES", "REGEX_TYPES"]

ASSERTION_TYPES: frozenset[str] = frozenset(
    {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "starts-with",
        "regex",
        "is-json",
        "json-schema",
        "json-path",
        "length",
        "levenshtein",
        "cost",
        "latency",
        "python",
        "llm-rubric",
    }
)

# Types whose `value` is a regular expression the loader compiles up front.
REGEX_TYPES: frozenset[str] = frozenset({"regex"})
