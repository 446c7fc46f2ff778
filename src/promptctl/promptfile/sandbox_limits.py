"""The sandbox's limits (see `promptfile.sandbox`), importable without importing Jinja:
the renderer's shortcut for plain messages checks an input against `MAX_OUTPUT_CHARS`."""

from __future__ import annotations

__all__ = ["MAX_ARGUMENT", "MAX_INT_BITS", "MAX_LOOP_ITEMS", "MAX_OUTPUT_CHARS", "MAX_RANGE"]

MAX_OUTPUT_CHARS = 10_000_000  # one rendered message; far beyond any context window
MAX_INT_BITS = 10_000
MAX_ARGUMENT = 100_000
MAX_RANGE = 100_000
MAX_LOOP_ITEMS = 1_000_000
