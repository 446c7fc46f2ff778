"""Catastrophic regexes: found when the file loads, and bounded in time when they run.

Python's `re` backtracks: `(a+)+$` against forty `a`s and a `b` takes longer than the
universe has left. A test's `regex` assertion comes from a pull request and runs over
model output, so two guards:

- `catastrophic(pattern)` finds a quantifier nested inside another unbounded one
  (`(a+)+`, `(a*b?)*`, `(?:x|y+)+`), the shape behind nearly every exponential case,
  by walking the parsed pattern; the loader warns with file:line (PC110), as a few
  such patterns are safe (`(\\d+,)*`).
- every pattern from a prompt file runs under a time limit: `bounded_search` (a test's
  `regex`), `bounded_validator` (JSON Schema `pattern`s: inputs, answers, tool arguments,
  `json-schema` assertions) match with the `regex` library, whose matcher stops itself
  after REGEX_TIMEOUT_S in any thread. `re` cannot be interrupted off the main thread
  (a signal reaches the main thread only), and the runtime validates in the
  application's threads. `regex` is `re`'s syntax (its VERSION0), and it also avoids
  much of the backtracking `re` does (`(a+)+$` fails at once).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = [
    "REGEX_TIMEOUT_S",
    "PatternError",
    "RegexTimeout",
    "bounded_search",
    "bounded_validator",
    "catastrophic",
    "catastrophic_schema_patterns",
    "compile_bounded",
]

REGEX_TIMEOUT_S = 1.0
_UNBOUNDED = 64  # a repeat allowing more than this many copies counts as unbounded


class RegexTimeout(Exception):
    """A regex match ran past its time limit (`seconds`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"regex ran longer than {seconds:g}s")
        self.seconds = seconds


class PatternError(ValueError):
    """A pattern that does not compile (the library's message)."""


@functools.lru_cache(maxsize=512)
def compile_bounded(pattern: str, flags: int = 0) -> Callable[[str], Any]:
    """`pattern`'s search (a match or None), raising RegexTimeout once a search has run
    REGEX_TIMEOUT_S; PatternError for a pattern that does not compile. `flags` are
    `re`'s (I, M, S have the same values in `regex`)."""
    import regex

    try:
        compiled = regex.compile(pattern, flags)
    except (regex.error, TypeError, ValueError) as exc:
        raise PatternError(str(exc)) from None

    def search(text: str) -> Any:
        limit = REGEX_TIMEOUT_S  # read per search (tests shorten it)
        try:
            return compiled.search(text, timeout=limit)
        except TimeoutError:
            raise RegexTimeout(limit) from None

    return search


def bounded_search(pattern: str, text: str, flags: int = 0) -> Any:
    """`re.search(pattern, text, flags)`, stopped after REGEX_TIMEOUT_S (RegexTimeout)."""
    return compile_bounded(pattern, flags)(text)


def bounded_validator(schema: Mapping[str, Any], cls: Any = None) -> Any:
    """A jsonschema validator for `schema` (of `cls`, default draft 2020-12) whose
    `pattern` keyword matches with `compile_bounded`: iterating its errors raises
    RegexTimeout instead of running a catastrophic pattern on."""
    return _bounded_class(cls)(schema)


@functools.cache
def _bounded_class(cls: Any) -> Any:
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, patrn: str, instance: Any, _schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and bounded_search(patrn, instance) is None:
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    return validators.extend(cls or Draft202012Validator, {"pattern": pattern})  # type: ignore[no-untyped-call]


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
