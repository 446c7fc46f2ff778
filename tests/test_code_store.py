"""Code promptctl generates (its dataclasses' methods, its own schemas' checks) comes
from the stored compiled code, behaves exactly as freshly compiled code, and a damaged
or foreign store only costs the compile."""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptctl import _code_store as code_store

ROOT = Path(__file__).resolve().parents[1]


def _define(module_name: str) -> type:
    """A frozen dataclass with defaults and a factory, defined in `module_name`."""
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    try:
        exec(
            "from dataclasses import dataclass, field\n"
            "@dataclass(frozen=True)\n"
            "class Point:\n"
            "    x: int\n"
            "    y: int = 2\n"
            "    tags: tuple = field(default_factory=tuple)\n",
            module.__dict__,
        )
    finally:
        del sys.modules[module_name]
    point: type = module.__dict__["Point"]
    return point


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "__pycache__" / "generated-code.test.bin"
    monkeypatch.setattr(code_store, "store_path", lambda: path)
    monkeypatch.setattr(code_store, "_codes", {})
    monkeypatch.setattr(code_store, "_stored", {})
    monkeypatch.setattr(code_store, "_new", set())
    monkeypatch.setitem(code_store._state, "read", True)  # not the real store's codes
    yield path


def _behaviour(point: type) -> tuple[object, ...]:
    a, b = point(1), point(1, 2, ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 5
    with pytest.raises(TypeError):
        point()
    return (
        repr(a),
        a == b,
        hash(a) == hash(b),
        a == point(3),
        [f.name for f in dataclasses.fields(a)],
    )


def test_a_promptctl_class_is_compiled_once_then_served_from_the_store(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _behaviour(_define("promptctl.fake_module"))
    assert code_store._new  # compiled, and known as new
    assert first == ("Point(x=1, y=2, tags=())", True, True, False, ["x", "y", "tags"])

    def no_compile(*args: object, **kwargs: object) -> object:
        raise AssertionError("compiled although the store holds this class's code")

    monkeypatch.setattr(code_store, "compile", no_compile, raising=False)
    assert _behaviour(_define("promptctl.fake_module")) == first
    # and from the file, in a process that has not compiled it (the module's entry is
    # read when its first class is made)
    code_store._save()
    code_store._codes.clear()
    code_store._state["read"] = False
    assert _behaviour(_define("promptctl.fake_module")) == first
    assert "promptctl.fake_module" in code_store._codes


def test_another_modules_class_is_compiled_as_always(store: Path) -> None:
    expected = _behaviour(_define("promptctl.fake_module"))
    code_store._codes.clear()
    code_store._new.clear()
    assert _behaviour(_define("application.models")) == expected
    assert code_store._codes == {} and not code_store._new


def test_the_store_round_trips_and_a_damaged_one_is_ignored(store: Path) -> None:
    _define("promptctl.fake_module")
    code_store._save()
    stored = code_store._read(store)
    assert set(stored) == {"promptctl.fake_module"}
    assert code_store._unpack(stored["promptctl.fake_module"]).keys() == (
        code_store._codes["promptctl.fake_module"].keys()
    )
    good = store.read_bytes()
    header = len(code_store._header())  # Python's magic number, then promptctl's tag
    damaged = {
        "truncated": good[: len(good) // 2],
        "flipped": good[:header] + bytes([good[header] ^ 0xFF]) + good[header + 1 :],
        "other python": b"\x00\x00\r\n" + good[4:],
        "not a dict": code_store._header() + marshal.dumps([1, 2]),
        "values not bytes": code_store._header() + marshal.dumps({"promptctl.m": "text"}),
        "empty": b"",
    }
    for name, blob in damaged.items():
        store.write_bytes(blob)
        assert code_store._read(store) == {}, name
    # one module's entry damaged: that module compiles as usual
    assert code_store._unpack(b"\xff\x00garbage") == {}
    assert code_store._unpack(marshal.dumps({"def f(): pass": "not code"})) == {}


def test_nothing_is_written_where_python_writes_no_byte_code(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _define("promptctl.fake_module")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    code_store._save_if_new()
    assert not store.exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    code_store._save_if_new()
    assert store.exists() and not code_store._new


def test_an_unwritable_store_only_costs_the_compile(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.parent.parent.joinpath("__pycache__").write_text("a file, not a folder")
    _define("promptctl.fake_module")
    code_store._save()  # no error
    assert code_store._new and not list(store.parent.parent.glob(".*tmp"))


_CHILD = """
import json, sys
from promptctl import _code_store as c
import promptctl.evals.runner, promptctl.runtime
from promptctl.promptfile import schemas
assert schemas._fast_check("config") and schemas._fast_check("prompt")
print(json.dumps({"new": len(c._new), "known": sum(map(len, c._codes.values()))}))
"""


def _child(env: dict[str, str]) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
    ).stdout
    counts: dict[str, int] = json.loads(out)
    return counts


def test_a_process_after_warm_compiles_none_of_promptctls_dataclasses(tmp_path: Path) -> None:
    """End to end, as `make install` leaves it: the store is read at import, and the
    runner's and the runtime's classes need no compile; a damaged store still works."""
    prefix = tmp_path / "pycache"
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(prefix)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [sys.executable, "-c", "from promptctl._code_store import warm; warm()"],
        env=env,
        check=True,
        capture_output=True,
    )
    (stored,) = prefix.rglob("generated-code.*.bin")
    warm = _child(env)
    assert warm["new"] == 0 and warm["known"] > 100
    stored.write_bytes(stored.read_bytes()[:100])
    cold = _child({**env, "PYTHONDONTWRITEBYTECODE": "1"})
    assert cold["new"] > 20 and cold["known"] > 100


def test_generated_source_is_compiled_once_per_text_and_file_name(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "def check(v):\n    return v == 1\n"
    first = code_store.compiled("promptctl.fake_module", source, "<promptctl schema>")
    assert code_store._new == {"promptctl.fake_module"}
    other = code_store.compiled("promptctl.fake_module", source, "<elsewhere>")
    assert other.co_filename == "<elsewhere>" and first.co_filename == "<promptctl schema>"

    def no_compile(*args: object, **kwargs: object) -> object:
        raise AssertionError("compiled again")

    monkeypatch.setattr(code_store, "compile", no_compile, raising=False)
    assert code_store.compiled("promptctl.fake_module", source, "<promptctl schema>") is first
    namespace: dict[str, object] = {}
    exec(first, namespace)
    check = namespace["check"]
    assert callable(check) and check(1) is True and check(2) is False


def test_a_users_schema_is_never_stored(store: Path) -> None:
    """Schemas from prompt files (json-schema assertions, output.schema) are compiled as
    before: the store holds only code from promptctl's own schemas."""
    from promptctl.promptfile.fast_validate import compile_schema

    check = compile_schema({"type": "object", "required": ["a"]})
    assert check is not None and check({"a": 1}) and not check({})
    assert code_store._codes.get("promptctl.promptfile.fast_validate", {}) == {}
    assert not code_store._new
