"""The PostgreSQL ledger's spool file: COPY text encoding, frames, torn tails, ownership."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptctl.ledger.spool import Spool, encode_rows, spool_dir_for

COLUMNS = ("ts", "prompt_id", "cost_usd")


def test_rows_are_copy_text_with_every_special_character_escaped():
    rows = [(1.5, "a\tb\\c\nd\re", None), (2.0, "nul\0 é", 3), (float("inf"), "", 0.1)]
    assert encode_rows(rows) == (
        b"1.5\ta\\tb\\\\c\\nd\\re\t\\N\n" + "2.0\tnul\ufffd é\t3\n".encode() + b"inf\t\t0.1\n"
    )


def test_frames_read_back_in_order_with_their_row_counts(tmp_path: Path):
    spool = Spool.create(tmp_path, COLUMNS)
    first, second = encode_rows([(1.0, "a", 1)]), encode_rows([(2.0, "b", 2), (3.0, "c", 3)])
    spool.append(first)
    end = spool.append(second)
    frames = spool.read(spool.data_start, end)
    assert (frames.body, frames.rows, frames.end, frames.torn) == (first + second, 3, end, False)
    one = spool.read(spool.data_start, end, max_bytes=1)  # at least one whole frame
    assert (one.body, one.rows) == (first, 1)
    assert spool.read(one.end, end).body == second
    spool.remove()


def test_a_torn_or_corrupt_frame_stops_reading_before_it(tmp_path: Path):
    spool = Spool.create(tmp_path, COLUMNS)
    good = encode_rows([(1.0, "a", 1)])
    end = spool.append(good)
    with open(spool.path, "ab") as f:  # a crash in the middle of the next write
        f.write(b"#40 0badf00d\n1.0\ta")
    size = spool.path.stat().st_size
    frames = spool.read(spool.data_start, size)
    assert (frames.body, frames.end, frames.torn) == (good, end, True)

    other = Spool.create(tmp_path, COLUMNS)
    end_1 = other.append(good)
    end_2 = other.append(good)
    data = bytearray(other.path.read_bytes())
    data[end_2 - 3] ^= 0xFF  # a flipped byte in the second frame's body
    other.path.write_bytes(bytes(data))
    frames = other.read(other.data_start, end_2)
    assert (frames.body, frames.end, frames.torn) == (good, end_1, True)


def test_a_live_spool_cannot_be_claimed_a_released_one_can_a_removed_one_is_gone(
    tmp_path: Path,
):
    live = Spool.create(tmp_path, COLUMNS)
    live.append(encode_rows([(1.0, "a", 1)]))
    assert Spool.claim(live.path) is None  # its owner holds the lock
    assert Spool.orphans(tmp_path, besides="other") == [live.path]
    assert Spool.orphans(tmp_path, besides=live.name) == []
    live.release()  # as when its process dies
    claimed = Spool.claim(live.path)
    assert claimed is not None
    assert (claimed.columns, claimed.data_start, claimed.end) == (
        COLUMNS,
        live.data_start,
        live.end,
    )
    claimed.remove()
    assert Spool.claim(live.path) is None and not live.path.exists()


def test_a_file_that_is_not_a_spool_is_never_claimed(tmp_path: Path):
    stranger = tmp_path / "x.spool"
    stranger.write_text("id,name\n1,a\n")
    assert Spool.claim(stranger) is None


def test_each_database_has_its_own_spool_directory(tmp_path: Path):
    a = spool_dir_for("postgresql://app:***@db1/ledger", tmp_path)
    b = spool_dir_for("postgresql://app:***@db2/ledger", tmp_path)
    assert a.parent == b.parent == tmp_path and a != b
    assert spool_dir_for("postgresql://app:***@db1/ledger", tmp_path) == a


def test_the_spool_file_is_private(tmp_path: Path):
    spool = Spool.create(tmp_path, COLUMNS)
    assert os.stat(spool.path).st_mode & 0o777 == 0o600
    spool.remove()


def test_the_spool_directory_is_the_variable_else_the_user_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    url = "postgresql://app:***@db1/ledger"
    monkeypatch.setenv("PROMPTCTL_LEDGER_SPOOL", str(tmp_path / "spool"))
    assert spool_dir_for(url, None).parent == tmp_path / "spool"
    monkeypatch.delenv("PROMPTCTL_LEDGER_SPOOL")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert spool_dir_for(url, None).parent == tmp_path / "state" / "promptctl" / "ledger-spool"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "state" / "promptctl" / "ledger-spool"
    assert spool_dir_for(url, None).parent == expected


def test_a_spool_removed_while_the_orphans_are_listed_is_no_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two processes find the same orphan; one drains and removes it while the other is
    still listing (the file there when looked for, gone when its age is read). The
    listing must not raise: it killed the PostgreSQL ledger's drain thread (seen once in
    CI, tests/fleet/test_pg_spool.py)."""
    kept = Spool.create(tmp_path, COLUMNS)
    gone = Spool.create(tmp_path, COLUMNS)
    real_glob = Path.glob

    def glob_then_remove(self: Path, pattern: str):  # type: ignore[no-untyped-def]
        found = list(real_glob(self, pattern))
        gone.remove()  # drained and removed by the other process meanwhile
        return iter(found)

    real_exists = Path.exists

    def still_there(self: Path) -> bool:  # it was, a moment before its age was read
        return self == gone.path or real_exists(self)

    monkeypatch.setattr(Path, "glob", glob_then_remove)
    monkeypatch.setattr(Path, "exists", still_there)
    listed = Spool.orphans(tmp_path, besides="mine")
    assert kept.path in listed and set(listed) <= {kept.path, gone.path}
    kept.release()
