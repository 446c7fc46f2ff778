"""Expanding prompts x targets x tests x repeats into independent cases, and sharding them.

A `Case` is the unit the runner schedules, caches and reports. Its `key` is stable across
runs (it names the prompt, target, test and repeat index, never a position in a list), so
results can be compared, resumed and sharded without depending on discovery order.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from promptctl.errors import UsageError
from promptctl.plan.call import target_for
from promptctl.promptfile.model import Limits, Prompt, Target, TestCase
from promptctl.promptfile.selection import matches

__all__ = [
    "Case",
    "CaseExpansion",
    "expand_cases",
    "fallback_targets",
    "in_shard_of",
    "parse_shard",
    "shard",
    "targets_for",
]


@dataclass(frozen=True, slots=True)
class Case:
    """One call to make and score: a prompt's test on one target, for one repeat.

    `repeat` is the 0-based repeat index; it is part of the key and of the provider cache
    key (`ChatRequest.cache_key(repeat=...)`) so that N repeats stay N independent calls.
    """

    prompt: Prompt
    target: Target
    test: TestCase
    repeat: int = 0

    @property
    def key(self) -> str:
        return f"{self.prompt.id}::{self.target.use}::{self.test.name}::{self.repeat}"


def targets_for(prompt: Prompt, overrides: Sequence[str] = ()) -> list[Target]:
    """The targets a prompt runs on: `overrides` (`provider/model`) if given, else `model.use`.

    An override means what it means everywhere (`promptctl.plan.call.target_for`): the
    fallback of that name with its own params and messages, else the model with the
    prompt's own `model.params`, so a matrix compares models, not parameter sets.
    Duplicates are dropped, order kept.
    """
    if not overrides:
        return [prompt.model.primary]
    seen: set[str] = set()
    out: list[Target] = []
    for use in overrides:
        if use in seen:
            continue
        seen.add(use)
        out.append(target_for(prompt, use))
    return out


def fallback_targets(prompt: Prompt) -> list[Target]:
    """Fallback entries that override `params` or `messages`, as targets of their own.

    Such a fallback is effectively a different prompt (its own parameters or messages), so
    it deserves its own test results; a plain fallback (model name only) does not. The
    returned targets carry the prompt's params merged with the fallback's overrides.
    """
    out: list[Target] = []
    for fb in prompt.model.fallbacks:
        if fb.params or fb.messages is not None:
            merged = {**prompt.model.params, **fb.params}
            out.append(Target(use=fb.use, params=merged, messages=fb.messages))
    return out


def _selected(prompt: Prompt, id_globs: Sequence[str], tags: Sequence[str]) -> bool:
    if id_globs and not any(matches(prompt.id, prompt.path, g) for g in id_globs):
        return False
    return not tags or bool(set(tags) & set(prompt.tags))


def expand_cases(
    prompts: Iterable[Prompt],
    *,
    targets: Sequence[str] = (),
    repeat: int | None = None,
    id_globs: Sequence[str] = (),
    tags: Sequence[str] = (),
    test_glob: str | None = None,
    include_fallbacks: bool = False,
    limits: Limits | None = None,
) -> list[Case]:
    """All cases for `prompts`, in a deterministic order (prompt, target, test, repeat).

    - `targets`: `provider/model` overrides (from `--target` or `targets:` in promptctl.yaml);
      empty means each prompt's own `model.use`.
    - `repeat`: `--repeat N` overrides every test's own `repeat:`; otherwise a test's
      `repeat:` applies, defaulting to 1.
    - `id_globs` match the prompt id or its file path (fnmatch); `tags` keep prompts having
      any of them; `test_glob` matches test names.
    - `include_fallbacks` adds `fallback_targets(prompt)` as extra targets.
    - `limits` caps `--repeat` and the number of cases (UsageError, before expanding).

    `iter_cases` is the same expansion one case at a time (a run streams its cases).
    """
    prompts = list(prompts)
    expansion = CaseExpansion(
        tuple(prompts),
        tuple(targets),
        repeat,
        tuple(id_globs),
        tuple(tags),
        test_glob,
        include_fallbacks,
    )
    expansion.count(limits)
    return list(expansion)


@dataclass(frozen=True)
class CaseExpansion:
    """The arguments of `expand_cases`: iterating yields its cases one by one, in the same
    order, each time anew (tests of a dataset need not be held for the whole run)."""

    prompts: tuple[Prompt, ...]
    targets: tuple[str, ...] = ()
    repeat: int | None = None
    id_globs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    test_glob: str | None = None
    include_fallbacks: bool = False

    def count(self, limits: Limits | None = None, *, cases: bool = True) -> int:
        """How many cases; UsageError over `limits` (checked before any case is made).
        `cases=False` checks `--repeat` only (the caller counts the cases, then calls
        `check_total`) and returns 0."""
        limits = limits or Limits()
        repeat = self.repeat
        if repeat is not None and repeat < 1:
            raise UsageError(f"--repeat must be at least 1, got {repeat}")
        if repeat is not None and repeat > limits.max_repeat:
            raise UsageError(
                f"--repeat {repeat} is over the limit of {limits.max_repeat}",
                hint="lower it, or raise `limits: {max_repeat: N}` in promptctl.yaml",
            )
        if not cases:
            return 0
        total = sum(count for *_, count in self._plan())
        self.check_total(total, limits)
        return total

    def tally(
        self, limits: Limits, shard: tuple[int, int] | None = None
    ) -> tuple[int, frozenset[str]]:
        """`count` and, in the same pass over the tests (a dataset's are made again on
        each), the cases of `shard` (I, N) and the providers their targets use."""
        self.count(limits, cases=False)
        total = in_shard = 0
        providers: set[str] = set()
        for prompt, target, test, count in self._plan():
            total += count
            if shard is None:
                in_shard += count
            else:
                index, of = shard
                keys = (Case(prompt, target, test, i) for i in range(count))
                count = sum(1 for c in keys if in_shard_of(c, index, of))
                in_shard += count
            if count:
                providers.add(target.use.split("/", 1)[0])
        self.check_total(total, limits)
        return in_shard, frozenset(providers)

    @staticmethod
    def check_total(total: int, limits: Limits) -> None:
        if total > limits.max_cases:
            raise UsageError(
                f"this run expands to {total:,} cases, over the limit of {limits.max_cases:,}",
                hint="select fewer prompts, targets or repeats, or raise "
                "`limits: {max_cases: N}` in promptctl.yaml",
            )

    def __iter__(self) -> Iterator[Case]:
        for prompt, target, test, count in self._plan():
            for i in range(count):
                yield Case(prompt, target, test, i)

    def _plan(self) -> Iterator[tuple[Prompt, Target, TestCase, int]]:
        for prompt in self.prompts:
            if not _selected(prompt, self.id_globs, self.tags):
                continue
            prompt_targets = targets_for(prompt, self.targets)
            if self.include_fallbacks:
                known = {t.use for t in prompt_targets}
                prompt_targets += [t for t in fallback_targets(prompt) if t.use not in known]
            glob, repeat = self.test_glob, self.repeat
            for target in prompt_targets:
                for test in prompt.tests:
                    if glob is None or fnmatch.fnmatchcase(test.name, glob):
                        yield (
                            prompt,
                            target,
                            test,
                            repeat if repeat is not None else (test.repeat or 1),
                        )


def parse_shard(text: str) -> tuple[int, int]:
    """Parse `--shard I/N` (1-based) into `(I, N)`, raising UsageError when malformed."""
    index_s, sep, total_s = text.partition("/")
    if not sep or not index_s.strip().isdigit() or not total_s.strip().isdigit():
        raise UsageError(f"invalid shard {text!r}", hint="use I/N, e.g. --shard 2/4")
    index, total = int(index_s), int(total_s)
    _check_shard(index, total)
    return index, total


def _check_shard(index: int, total: int) -> None:
    if total < 1 or not 1 <= index <= total:
        raise UsageError(
            f"invalid shard {index}/{total}", hint="the index runs from 1 to N, e.g. 2/4"
        )


def shard(cases: Sequence[Case], index: int, total: int) -> list[Case]:
    """The cases of shard `index` (1-based) out of `total`.

    Assignment depends only on a SHA-256 of each case's key, so it is the same on every
    machine and Python run (no `hash()` randomisation), and adding or removing a test never
    moves any other case to a different shard. Shards are disjoint and together cover all.
    """
    _check_shard(index, total)
    return [c for c in cases if in_shard_of(c, index, total)]


def in_shard_of(case: Case, index: int, total: int) -> bool:
    """Is `case` in shard `index` (1-based) of `total` (see `shard`)?"""
    return _bucket(case.key, total) == index - 1


def _bucket(key: str, total: int) -> int:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total
