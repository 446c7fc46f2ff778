"""promptctl's dataclass methods compiled once, kept beside the package's byte code.

`@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__`… as source text and compiles it while the module is imported: ~0.4 ms a
class, ~28 ms of every `promptctl test` process (65 classes, 355 functions) before it
does any work, and more for the runtime's imports. The text depends only on the class,
so its compiled code is kept, as `.pyc` files keep a module's: `dataclasses`' own
`exec` of that text gets the stored code object instead of compiling it again.

Only classes of promptctl's modules go through the store (another module's dataclass
is compiled as always). The store is `__pycache__/dataclass-code.<tag>.bin` of this
package, written at exit when something new was compiled and Python writes byte code
(`PYTHONDONTWRITEBYTECODE` unset), or by `warm()` (`make install`). It is trusted as
the `.pyc` files beside it are: whoever can write one can write the other. A store that
is damaged, of another Python, or missing is ignored: classes compile as usual.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import hashlib
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["install", "store_path", "warm"]

_MAX_ENTRIES = 4096  # a store past this (many edits of promptctl's source) starts over
_HEADER = importlib.util.MAGIC_NUMBER + b"promptctl dataclass code 1\n"
_codes: dict[bytes, CodeType] = {}
_new: set[bytes] = set()
_state: dict[str, Any] = {}


def store_path() -> Path | None:
    """Where the compiled methods are kept (None without a byte-code folder)."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    try:
        pyc = importlib.util.cache_from_source(str(Path(__file__).with_name("__init__.py")))
    except (NotImplementedError, ValueError):
        return None
    return Path(pyc).with_name(f"dataclass-code.{tag}.bin")


def _read(path: Path) -> dict[bytes, CodeType]:
    try:
        blob = path.read_bytes()
    except OSError:
        return {}
    if not blob.startswith(_HEADER):
        return {}
    try:
        found = marshal.loads(blob[len(_HEADER) :])
    except (ValueError, EOFError, TypeError):
        return {}
    if type(found) is not dict or not all(
        type(k) is bytes and type(v) is CodeType for k, v in found.items()
    ):
        return {}
    return found


def _exec(source: Any, globals: Any = None, locals: Any = None, /, **kwargs: Any) -> Any:
    """`exec` as `dataclasses` calls it, with a promptctl class's text compiled once."""
    if (
        type(source) is str
        and not kwargs
        and type(globals) is dict
        and str(globals.get("__name__", "")).startswith("promptctl.")
    ):
        key = hashlib.blake2b(source.encode(), digest_size=16).digest()
        code = _codes.get(key)
        if code is None:
            code = _codes[key] = compile(source, "<string>", "exec", dont_inherit=True)
            _new.add(key)
        return builtins.exec(code, globals, locals)
    return builtins.exec(source, globals, locals, **kwargs)


def install() -> None:
    """Serve promptctl's dataclasses from the store from now on (idempotent)."""
    if _state.get("installed"):
        return
    _state["installed"] = True
    path = store_path()
    if path is not None:
        _codes.update(_read(path))
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # shadows the builtin there
    atexit.register(_save_if_new)


def _save_if_new() -> None:
    if _new and not sys.dont_write_bytecode:
        _save()


def _save() -> None:
    path = store_path()
    if path is None:
        return
    merged = _read(path)
    merged.update(_codes)
    if len(merged) > _MAX_ENTRIES:
        merged = dict(_codes)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(tmp, "xb") as fh:
            fh.write(_HEADER + marshal.dumps(merged))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _new.clear()


def warm() -> int:
    """Import every promptctl module and write the store (`make install` runs this, as
    compileall is run for `.pyc` files); returns how many methods it holds."""
    import pkgutil

    import promptctl

    install()
    for module in pkgutil.walk_packages(promptctl.__path__, "promptctl."):
        if module.name.endswith("__main__"):
            continue  # runs the CLI
        with contextlib.suppress(Exception):  # an optional extra's module (psycopg, redis)
            importlib.import_module(module.name)
    _save()
    return len(_codes)
