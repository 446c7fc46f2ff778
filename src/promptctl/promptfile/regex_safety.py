"""Catastrophic regexes: found when the file loads, and bounded in time when they run.

Python's `re` backtracks: `(a+)+$` against forty `a`s and a `b` takes longer than the
universe has left. A test's `regex` assertion comes from a pull request and runs over
model output, so two guards:

- `catastrophic(pattern)` finds a quantifier nested inside another unbounded one
  (`(a+)+`, `(a*b?)*`, `(?:x|y+)+`), the shape behind nearly every exponential case,
  by walking the parsed pattern; the loader warns with file:line (PC110), as a few
  such patterns are safe (`(\\d+,)*`).
- `deadline(seconds)` interrupts a match that still runs too long (`re` checks for
  signals while it backtracks): SIGALRM on the main thread, where the runner scores.
"""

from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "REGEX_TIMEOUT_S",
    "RegexTimeout",
    "catastrophic",
    "catastrophic_schema_patterns",
    "deadline",
]

REGEX_TIMEOUT_S = 1.0
_UNBOUNDED = 64  # a repeat allowing more than this many copies counts as unbounded


class RegexTimeout(Exception):
    """A regex match ran past its deadline."""


def _parser() -> Any:
    # `re._parser` (3.11+) is private; the public alias `sre_parse` warns on import.
    return importlib.import_module("re._parser")


def catastrophic(pattern: str) -> bool:
    """Whether `pattern` nests an unbounded quantifier inside another (`(a+)+`)."""
    parser = _parser()
    try:
        tree = parser.parse(pattern)
    except Exception:  # invalid patterns are reported by re.compile's own message
        return False
    constants = importlib.import_module("re._constants")
    repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT}

    def walk(items: Any, inside: bool) -> bool:
        for op, av in items:
            if op in repeats:
                loop = av[1] is constants.MAXREPEAT or av[1] > _UNBOUNDED
                if (inside and loop) or walk(av[2], inside or loop):
                    return True
            elif op is constants.SUBPATTERN:
                if walk(av[-1], inside):
                    return True
            elif op is constants.BRANCH:
                if any(walk(branch, inside) for branch in av[1]):
                    return True
            elif op in (constants.ASSERT, constants.ASSERT_NOT) and walk(av[1], inside):
                return True
            # possessive repeats and atomic groups never backtrack: not walked
        return False

    return walk(tree, False)


def catastrophic_schema_patterns(schema: Any, at: str = "") -> list[tuple[str, str]]:
    """(JSON pointer, pattern) of every catastrophic `pattern` in a JSON Schema: a schema
    from a pull request matched against model output (tool arguments, answers) or inputs
    is the same hazard as a test's `regex`."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(schema, at)]
    while stack:
        node, ptr = stack.pop()
        if isinstance(node, dict):
            for key, sub in node.items():
                here = f"{ptr}/{str(key).replace('~', '~0').replace('/', '~1')}"
                if key == "pattern" and isinstance(sub, str):
                    if catastrophic(sub):
                        found.append((here, sub))
                else:
                    stack.append((sub, here))
        elif isinstance(node, list):
            stack.extend((sub, f"{ptr}/{i}") for i, sub in enumerate(node))
    return sorted(found)


@contextmanager
def deadline(seconds: float = REGEX_TIMEOUT_S) -> Iterator[None]:
    """Raise RegexTimeout in the block after `seconds` (main thread; elsewhere a no-op).

    An earlier alarm of someone else's is left alone: then this guard does nothing.
    """
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise RegexTimeout(f"regex ran longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
