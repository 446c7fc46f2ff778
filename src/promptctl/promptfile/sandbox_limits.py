"""The sandbox's limits (see `promptfile.sandbox`), importable without importing Jinja:
the renderer's shortcut for plain messages checks an input against `MAX_OUTPUT_CHARS`."""

from __future__ import annotations

__all__ = [
    "MAX_ARGUMENT",
    "MAX_BUILT_CHARS",
    "MAX_INT_BITS",
    "MAX_LOOP_ITEMS",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_RENDER_SECONDS",
]

MAX_OUTPUT_CHARS = 10_000_000  # one rendered message, or any text built on the way
MAX_INT_BITS = 10_000
MAX_ARGUMENT = 100_000
MAX_RANGE = 100_000
MAX_LOOP_ITEMS = 1_000_000  # loop iterations of one render, nested loops multiplied
MAX_RENDER_SECONDS = 5.0  # one render; a prompt renders in milliseconds
# all text one render builds on the way (`~`, `+`, `*`, `%`, filters, methods), kept or
# not: many strings each under MAX_OUTPUT_CHARS, appended to a list in a loop, would
# otherwise add up to any size
MAX_BUILT_CHARS = 100_000_000
