"""A prompt's tests when some come from a large dataset: made again on each pass.

A 100,000-row dataset held as `TestCase`s is ~45 MB for the whole run. `TestList` holds
the inline tests and, for each .jsonl or .csv dataset, its text (the file as read when the
prompt loaded, so every pass sees the rows that were checked); iterating makes each row's
`TestCase` as it goes, so a run that streams its cases holds only those in flight.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from promptctl.promptfile.model import TestCase

__all__ = ["DatasetTests", "TestList"]


class DatasetTests:
    """The tests of one dataset entry: `make()` yields them anew, `count` of them."""

    __slots__ = ("count", "make")

    def __init__(self, make: Callable[[], Iterator[TestCase]], count: int) -> None:
        self.make = make
        self.count = count


class TestList(Sequence[TestCase]):
    """Inline tests and dataset tests in file order, as a read-only sequence."""

    __slots__ = ("_len", "_parts")
    __test__ = False  # not a pytest class

    def __init__(self, parts: Sequence[TestCase | DatasetTests]) -> None:
        self._parts = tuple(parts)
        self._len = sum(p.count if isinstance(p, DatasetTests) else 1 for p in self._parts)

    def __iter__(self) -> Iterator[TestCase]:
        for part in self._parts:
            if isinstance(part, DatasetTests):
                yield from part.make()
            else:
                yield part

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> TestCase: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[TestCase, ...]: ...

    def __getitem__(self, index: int | slice) -> TestCase | tuple[TestCase, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("test index out of range")
        return next(itertools.islice(self, index, None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # as a list: equal to its items

    def __repr__(self) -> str:
        return f"TestList({self._len} tests)"

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (bundles, processes) as a tuple
        return (tuple, (tuple(self),))
