"""The parse cache: a re-load of the same text gives what parsing gives, and the cache
never turns into an error or a wrong answer (damaged, foreign, unwritable, off)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from promptctl.promptfile import parse_cache, yaml_parse
from promptctl.promptfile.yaml_loader import LocatedYaml, load_yaml

P = Path("p.yaml")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(parse_cache, "_state", {})
    return tmp_path / "cache"


def _prompt(tests: int = 40, extra: str = "") -> str:
    body = "".join(
        f"  - name: 'case {i} / ~x'\n"
        f"    vars: {{question: 'q {i}', n: {i}, ratio: {i / 7!r}, flag: {str(i % 2 == 0).lower()},"
        f" none: null}}\n"
        "    assert:\n      - {type: contains, value: ok}\n"
        for i in range(tests)
    )
    return (
        "id: demo\nversion: 1.0.0\n"
        "base: &base {temperature: 0, max_tokens: 5}\n"
        "params: {<<: *base, seed: 7}\n"
        "messages:\n  - system: |\n      Block text\n      on two lines\n"
        "  - user: 'ünïcode {{ question }}'\n"
        f"dup: 1\ndup: 2\n{extra}tests:\n{body}"
    )


def _load(text: str, path: Path) -> LocatedYaml:
    return load_yaml(text, path, cache=True)


def _fields(doc: LocatedYaml) -> tuple[object, ...]:
    return (doc.data, doc.values, doc.keys, doc.duplicates, doc.block_scalars)


def _entries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


def _refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(text: str, path: Path) -> LocatedYaml:
        raise AssertionError("parsed although the cache holds this text")

    monkeypatch.setattr(yaml_parse, "parse", parse)


def test_a_second_load_comes_from_the_cache_and_equals_the_parse(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _prompt()
    first = _load(text, P)
    assert len(_entries(cache)) == 1
    _refuse_parsing(monkeypatch)
    again = _load(text, Path("elsewhere/q.yaml"))
    assert _fields(again) == _fields(first)
    assert again.path == Path("elsewhere/q.yaml")  # locations name the file being loaded
    assert again.locate("/tests/3/vars/n").line == first.locate("/tests/3/vars/n").line
    assert again.duplicates and again.block_scalars == {"/messages/0/system"}
    assert [type(v) for v in again.data["tests"][1]["vars"].values()] == [
        str,
        int,
        float,
        bool,
        type(None),
    ]


def test_random_documents_load_the_same_from_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    scalars = ["x", "'0012'", "12", "-3.5e3", "true", "null", "~", "'a: b'", '"\\u00e9"', "[]"]
    texts = []
    for n in range(30):
        lines = [f"k{i}: {rng.choice(scalars)}" for i in range(rng.randint(5, 40))]
        lines.append(
            "nested:\n" + "".join(f"  - {{a: {rng.choice(scalars)}}}\n" for _ in range(200))
        )
        texts.append(f"# doc {n}\n" + "\n".join(lines) + "\n")
    fresh = [_fields(_load(t, P)) for t in texts]
    _refuse_parsing(monkeypatch)
    assert [_fields(_load(t, P)) for t in texts] == fresh


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "other-format"])
def test_a_damaged_entry_is_parsed_again_and_rewritten(cache: Path, damage: str) -> None:
    text = _prompt()
    expected = _fields(_load(text, P))
    (entry,) = _entries(cache)
    blob = entry.read_bytes()
    if damage == "flip":
        blob = blob[:-5] + bytes([blob[-5] ^ 0x40]) + blob[-4:]
    elif damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "empty":
        blob = b""
    else:
        blob = b"promptctl-parsed 0\n" + blob[19:]
    entry.write_bytes(blob)
    assert _fields(_load(text, P)) == expected
    assert entry.read_bytes() != blob  # rewritten whole


def test_a_folder_another_user_owns_is_not_used(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 1)
    _load(_prompt(), P)
    assert parse_cache.cache_dir() is None
    assert _entries(cache) == []


@pytest.mark.parametrize("value", ["off", "0", "false", "NO"])
def test_the_cache_can_be_turned_off(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(parse_cache.CACHE_ENV, value)
    monkeypatch.setattr(parse_cache, "_state", {})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _load(_prompt(), P)
    assert parse_cache.cache_dir() is None
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("unset", [None, "", "  "])
def test_the_default_folder_is_the_users_cache_not_the_project(
    unset: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if unset is None:
        monkeypatch.delenv(parse_cache.CACHE_ENV, raising=False)
    else:
        monkeypatch.setenv(parse_cache.CACHE_ENV, unset)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(parse_cache, "_state", {})
    _load(_prompt(), P)
    assert len(_entries(tmp_path / "xdg" / "promptctl")) == 1


def test_a_folder_that_cannot_be_made_only_costs_the_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(blocker / "cache"))
    monkeypatch.setattr(parse_cache, "_state", {})
    text = _prompt()
    assert _fields(_load(text, P)) == _fields(yaml_parse.parse(text, P))
    assert parse_cache.cache_dir() is None
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("where", ["write", "rename"])
def test_a_write_that_fails_leaves_no_temporary_file(
    where: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    if where == "write":
        real_fdopen = os.fdopen

        class FullDisk:
            def __init__(self, fd: int) -> None:
                self.fh = real_fdopen(fd, "wb")

            def __enter__(self) -> FullDisk:
                return self

            def __exit__(self, *exc: object) -> None:
                self.fh.close()

            def write(self, data: bytes) -> int:
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(parse_cache.os, "fdopen", lambda fd, mode: FullDisk(fd))
    else:
        monkeypatch.setattr(parse_cache.os, "replace", full)
    doc = _load(_prompt(), P)
    assert doc.data["id"] == "demo"
    assert [p for p in cache.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "module", ["yaml_loader.py", "yaml_parse.py", "yaml_events.py", "parse_cache.py"]
)
def test_another_build_of_any_parser_module_does_not_read_this_ones_entries(
    module: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walker lives in yaml_parse.py, the event builder in yaml_events.py: an edit
    there (or in the loader, or here) must not be answered by the entries of the code
    before it."""
    text = _prompt()
    _load(text, P)
    assert parse_cache.load(text) is not None
    stamp = parse_cache._stamp
    monkeypatch.setattr(
        parse_cache,
        "_stamp",
        lambda path: stamp(path) + ("+edited" if path.name == module else ""),
    )
    monkeypatch.delitem(parse_cache._state, "salt")
    assert parse_cache.load(text) is None


def test_dates_and_texts_not_asked_for_are_not_stored(cache: Path) -> None:
    dated = _prompt(extra="released: 2024-05-01\n")
    assert str(_load(dated, P).data["released"]) == "2024-05-01"
    assert load_yaml(_prompt(), Path("--vars"), require_mapping=False).data["id"] == "demo"
    assert _entries(cache) == []
    assert len(_load("a: 1\n", P).data) == 1  # any size, when asked for
    assert len(_entries(cache)) == 1


def test_another_build_of_the_walker_does_not_read_this_ones_entries(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _prompt()
    _load(text, P)
    monkeypatch.setitem(parse_cache._state, "salt", b"another build\n")
    assert parse_cache.load(text) is None
    _load(text, P)
    assert len(_entries(cache)) == 2


def test_old_entries_of_a_shard_are_removed_when_it_is_written(cache: Path) -> None:
    text = _prompt()
    _load(text, P)
    (entry,) = _entries(cache)
    old = entry.parent / ("0" * 64)
    old.write_bytes(b"x")
    stale = time.time() - (parse_cache.MAX_AGE_DAYS + 1) * 86400
    os.utime(old, (stale, stale))
    young = entry.parent / ("1" * 64)
    young.write_bytes(b"x")
    entry.unlink()
    _load(text, P)
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted([entry.name, young.name])


def test_syntax_errors_are_never_stored(cache: Path) -> None:
    from promptctl.errors import PromptFileError

    broken = _prompt() + "bad: [unclosed\n"
    for _ in range(2):
        with pytest.raises(PromptFileError, match="YAML syntax error"):
            _load(broken, P)
    assert _entries(cache) == []


def test_a_shard_over_its_size_loses_its_oldest_entries_first(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _prompt()
    _load(text, P)
    (entry,) = _entries(cache)
    now = time.time()
    others = [entry.parent / (f"{n}" * 64) for n in range(3)]
    for age, other in zip((300, 200, 100), others, strict=True):
        other.write_bytes(b"x" * 1000)
        os.utime(other, (now - age, now - age))
    monkeypatch.setattr(parse_cache, "SHARD_BYTES", 2500)
    entry.unlink()
    _load(text, P)
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted(
        [entry.name, others[1].name, others[2].name]
    )


def test_hostile_prompt_files_read_the_same_from_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/fuzz_inputs.py's mutations of the example prompts (huge numbers, deep
    nesting, NaN, tags, keys of every kind): a load from the cache gives what parsing
    gives, the same data or the same error, every time."""
    import sys

    import yaml

    from promptctl.errors import PromptFileError

    root = Path(__file__).resolve().parents[2]
    monkeypatch.syspath_prepend(str(root / "tools"))
    import fuzz_inputs

    def outcome(text: str, cached: bool) -> object:
        try:
            return _fields(load_yaml(text, P, cache=cached))
        except PromptFileError as exc:
            return str(exc)

    files = sorted((root / "prompts").rglob("*.yaml"))
    seeds = {f: yaml.safe_load(f.read_text()) for f in files}
    rng = random.Random(2026)
    texts = []
    for _ in range(150):
        data = fuzz_inputs.mutate(seeds[rng.choice(files)], rng)
        texts.append(fuzz_inputs.expand(yaml.safe_dump(data, allow_unicode=True), yaml_text=True))
    fresh = [outcome(t, cached=False) for t in texts]
    assert [outcome(t, cached=True) for t in texts] == fresh  # parsed, stored
    assert _entries(cache)
    assert [outcome(t, cached=True) for t in texts] == fresh  # read back
    assert sum(isinstance(o, str) for o in fresh) > 5  # errors were among them
    del sys.modules["fuzz_inputs"]


def test_a_relative_xdg_cache_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XDG_CACHE_HOME=.cache would put the cache in whatever folder promptctl runs in
    (a project); the XDG spec says to ignore a relative path."""
    monkeypatch.delenv(parse_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", ".cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(parse_cache, "_state", {})
    _load(_prompt(), P)
    assert not (tmp_path / ".cache").exists()
    assert len(_entries(tmp_path / "home" / ".cache" / "promptctl")) == 1
