"""RecordingStore: lookups, and what a run without recordings costs (no system call)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from provider_helpers import chat

from promptctl.providers import recordings
from promptctl.providers.recordings import RecordingStore
from promptctl.providers.types import ChatResponse


def _count_lstats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = os.path.lexists

    def counting(path: str) -> bool:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(recordings.os.path, "lexists", counting)
    return seen


def test_without_a_recordings_folder_a_lookup_makes_no_system_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordingStore(tmp_path / "evals" / "recordings")
    lstats = _count_lstats(monkeypatch)
    keys = [chat("openai/gpt-4o-mini", ("user", f"q{i}")).cache_key() for i in range(200)]
    assert [store.load(k) for k in keys] == [None] * 200
    assert lstats == []


def test_only_keys_in_a_present_shard_are_looked_up_and_a_save_is_seen_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "recordings"
    store = RecordingStore(root)
    first = chat("openai/gpt-4o-mini", ("user", "first"))
    store.save(first.cache_key(), first, 0, ChatResponse("one", "openai/gpt-4o-mini"))
    reader = RecordingStore(root)  # a later run: lists the shard folders once
    lstats = _count_lstats(monkeypatch)
    found = reader.load(first.cache_key())
    assert found is not None and found.text == "one"
    others = [chat("openai/gpt-4o-mini", ("user", f"q{i}")) for i in range(300)]
    elsewhere = [r for r in others if r.cache_key()[:2] != first.cache_key()[:2]]
    assert all(reader.load(r.cache_key()) is None for r in elsewhere)
    assert len(lstats) == 1  # the key whose shard exists; none for the others
    late = next(r for r in elsewhere)
    reader.save(late.cache_key(), late, 0, ChatResponse("two", "openai/gpt-4o-mini"))
    again = reader.load(late.cache_key())  # a new shard, made by this store's own save
    assert again is not None and again.text == "two"


def test_a_file_where_the_folder_should_be_is_no_recording(tmp_path: Path) -> None:
    (tmp_path / "recordings").write_text("not a folder")
    store = RecordingStore(tmp_path / "recordings")
    assert store.load(chat("openai/gpt-4o-mini").cache_key()) is None
