"""The shipped schemas (promptfile/schemas.py): where their text is read from."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Literal

import pytest

from promptctl.promptfile.schemas import schema_text


@pytest.mark.parametrize("name", ["prompt", "config"])
def test_the_shipped_schema_is_read_through_importlib_resources_when_not_beside_the_module(
    name: Literal["prompt", "config"], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`schema_text` reads the file beside its module (no `importlib.resources` import on
    every run); where that read fails (a package that is not plain files), the package's
    resources give the same text."""
    expected = schema_text(name)
    real = pathlib.Path.read_text
    reads: list[str] = []

    def first_read_fails(self: pathlib.Path, *args: Any, **kwargs: Any) -> str:
        reads.append(str(self))
        if len(reads) == 1:
            raise FileNotFoundError(str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", first_read_fails)
    assert schema_text(name) == expected
    assert json.loads(expected)["$schema"].startswith("https://json-schema.org/")
    assert len(reads) == 2 and all(r.endswith(f"{name}.schema.json") for r in reads)
