"""`replace_file`: readers see the old file or the whole new one; errors name the file."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pytest

from promptctl.errors import UsageError
from promptctl.promptfile.atomic_file import replace_file


def test_a_writer_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(b"old")

    def half(fh: IO[bytes]) -> None:
        fh.write(b"new, half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_file(path, half, label="results file")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]
    replace_file(path, lambda fh: fh.write(b"new"), label="results file")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_an_unwritable_place_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match=r"cannot write HTML report .*file/out\.html: "):
        replace_file(blocker / "out.html", lambda fh: fh.write(b""), label="HTML report")
