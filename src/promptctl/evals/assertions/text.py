"""Deterministic checks on the output text: equality, substrings, regex, length, distance."""

from __future__ import annotations

import re
from collections.abc import Mapping

from promptctl.evals.assertions.base import (
    AssertionContext,
    Check,
    InvalidSpec,
    NotChecked,
    number_option,
    option,
    quote,
    register,
)
from promptctl.promptfile.model import AssertionSpec
from promptctl.promptfile.regex_safety import (
    PatternError,
    RegexTimeout,
    bounded_search,
)

__all__ = ["levenshtein"]

DEFAULT_LEVENSHTEIN_MAX = 5
MAX_LEVENSHTEIN_CELLS = 10_000_000_000  # two 100,000-character texts: ~2 s


def _text_value(spec: AssertionSpec) -> str:
    value = spec.value
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is None:
        raise InvalidSpec(f"{spec.type} needs a value")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidSpec(f"{spec.type} needs a string value, got {quote(value)}")
    return str(value)


def _list_value(spec: AssertionSpec) -> list[str]:
    value = spec.value
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = []
    if not items:
        raise InvalidSpec(f"{spec.type} needs a list of strings")
    return items


@register("equals")
def _equals(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Strings compare after trimming surrounding whitespace; other values as parsed JSON."""
    if isinstance(spec.value, str):
        ok = ctx.output.strip() == spec.value.strip()
        return Check(ok, f"output {'equals' if ok else 'is not'} {quote(spec.value)}")
    if spec.value is None:
        raise InvalidSpec("equals needs a value")
    parsed = ctx.json
    ok = parsed.ok and parsed.value == spec.value
    got = quote(parsed.value) if parsed.ok else quote(ctx.output)
    return Check(ok, f"expected {quote(spec.value)}, got {got}")


@register("contains")
def _contains(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    needle = _text_value(spec)
    ok = needle in ctx.output
    return Check(ok, f"output {'contains' if ok else 'does not contain'} {quote(needle)}")


@register("icontains")
def _icontains(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    needle = _text_value(spec)
    ok = needle.casefold() in ctx.output.casefold()
    verb = "contains" if ok else "does not contain"
    return Check(ok, f"output {verb} {quote(needle)} (ignoring case)")


@register("contains-any")
def _contains_any(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    items = _list_value(spec)
    found = [i for i in items if i in ctx.output]
    if found:
        return Check(True, f"output contains {quote(found[0])}")
    return Check(False, f"output contains none of {quote(items)}")


@register("contains-all")
def _contains_all(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Score is the fraction found, so a `threshold` can accept partial coverage."""
    items = _list_value(spec)
    missing = [i for i in items if i not in ctx.output]
    score = (len(items) - len(missing)) / len(items)
    if not missing:
        return Check(True, f"output contains all of {quote(items)}", score)
    return Check(False, f"output is missing {quote(missing)}", score)


@register("starts-with")
def _starts_with(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Leading whitespace of the output is ignored."""
    prefix = _text_value(spec)
    ok = ctx.output.lstrip().startswith(prefix)
    return Check(ok, f"output {'starts' if ok else 'does not start'} with {quote(prefix)}")


_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


@register("regex")
def _regex(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """A search with `re`'s syntax, stopped at the regex time limit in any thread
    (`regex_safety.bounded_search`); optional `flags:` letters among i, m, s."""
    pattern = _text_value(spec)
    flags = 0
    for letter in str(option(spec, "flags", "")):
        if letter not in _FLAGS:
            raise InvalidSpec(f"unknown regex flag {letter!r} (use i, m, s)")
        flags |= _FLAGS[letter]
    try:
        match = bounded_search(pattern, ctx.output, flags)
    except PatternError as exc:
        raise InvalidSpec(f"bad regex {quote(pattern)}: {exc}") from exc
    except RegexTimeout as exc:
        raise InvalidSpec(
            f"regex {quote(pattern)} ran longer than {exc.seconds:g}s on this output "
            "(catastrophic backtracking; see lint PC110)"
        ) from None
    if match:
        return Check(True, f"output matches /{pattern}/ at {quote(match.group(0))}")
    return Check(False, f"output does not match /{pattern}/")


@register("length")
def _length(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """`min`/`max` in characters, or in whitespace-separated words with `unit: words`."""
    unit = option(spec, "unit", "chars")
    if unit not in ("chars", "words"):
        raise InvalidSpec(f"length: unit must be chars or words, got {quote(unit)}")
    lo, hi = number_option(spec, "min"), number_option(spec, "max")
    if lo is None and hi is None:
        raise InvalidSpec("length needs min or max")
    size = len(ctx.output.split()) if unit == "words" else len(ctx.output)
    bounds = f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]"
    ok = (lo is None or size >= lo) and (hi is None or size <= hi)
    return Check(ok, f"length {size} {unit} is {'within' if ok else 'outside'} {bounds}")


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute) by Hyyrö's bit-vector algorithm: one
    pass over the longer text with the shorter one's columns as the bits of Python
    integers, O(len(a) * len(b) / 64) word operations in C. The textbook table (a
    Python step per cell) took 0.9 s for two 2,000-character texts and hours for two
    model answers of 100,000; this takes 2 ms and 2 s."""
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    positions: dict[str, int] = {}  # character -> bit i set where b[i] is it
    for i, char in enumerate(b):
        positions[char] = positions.get(char, 0) | (1 << i)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    plus, minus, distance = full, 0, m  # vertical deltas of the column: +1 / -1 bits
    for char in a:
        eq = positions.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        h_plus = minus | (full & ~(xh | plus))
        h_minus = plus & xh
        if h_plus & last:
            distance += 1
        elif h_minus & last:
            distance -= 1
        h_plus = ((h_plus << 1) | 1) & full
        h_minus = (h_minus << 1) & full
        plus = h_minus | (full & ~(xv | h_plus))
        minus = h_plus & xv
    return distance


@register("levenshtein")
def _levenshtein(spec: AssertionSpec, ctx: AssertionContext) -> Check:
    """Pass when the distance to `value` is at most `max` (default 5).

    Score is the similarity 1 - distance / max(len), so a threshold can be used instead.
    """
    expected = _text_value(spec)
    limit = number_option(spec, "max")
    limit = DEFAULT_LEVENSHTEIN_MAX if limit is None else limit
    output = ctx.output.strip()
    if len(output) * len(expected) > MAX_LEVENSHTEIN_CELLS:  # a runaway answer: ~2 s+
        raise NotChecked(
            f"levenshtein: texts of {len(output):,} and {len(expected):,} characters are "
            f"over the edit-distance limit ({MAX_LEVENSHTEIN_CELLS:,} character pairs)"
        )
    distance = levenshtein(output, expected)
    score = 1.0 - distance / max(len(output), len(expected), 1)
    ok = distance <= limit
    return Check(ok, f"edit distance {distance} to {quote(expected)} (max {limit:g})", score)
