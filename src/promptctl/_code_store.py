"""Code promptctl generates, compiled once and kept beside the package's byte code.

Two kinds: the methods `@dataclass` writes for promptctl's classes, and the checks
`fast_validate` generates from promptctl's own JSON Schemas (`compiled`).

`@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__`… as source text and compiles it while the module is imported: ~0.4 ms a
class, ~28 ms of every `promptctl test` process (65 classes, 355 functions) before it
does any work, and more for the runtime's imports. The text depends only on the class,
so its compiled code is kept, as `.pyc` files keep a module's: `dataclasses`' own
`exec` of that text gets the stored code object instead of compiling it again.

Only classes of promptctl's modules go through the store (another module's dataclass
is compiled as always). The store is `__pycache__/generated-code.<tag>.bin` of this
package: per module, the generated texts and their code, a module's entries read the
first time one of its classes is made (`promptctl --version` reads one module's). A
text is found by the text itself, never by a digest that two texts could share. The
store is written at exit when something new was compiled and Python writes byte code
(`PYTHONDONTWRITEBYTECODE` unset), or by `warm()` (`make install`). It is trusted as
the `.pyc` files beside it are: whoever can write one can write the other. A store that
is damaged, of another Python, or missing is ignored: classes compile as usual.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import sys
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["compiled", "install", "on_warm", "store_path", "warm"]

_MAX_BYTES = 8 << 20  # a store past this (many edits of promptctl's source) starts over
_TAG = b"promptctl dataclass code 2\n"  # after importlib.util.MAGIC_NUMBER (Python's own)
_Texts = dict[str, CodeType]  # one module's generated texts and their code
_stored: dict[str, bytes] = {}  # module -> its marshalled texts, as read (not yet loaded)
_codes: dict[str, _Texts] = {}  # module -> its texts, loaded or compiled in this process
_new: set[str] = set()  # modules with a text compiled here
_state: dict[str, Any] = {}
_warmers: list[Any] = []  # what `warm()` runs after importing every module


def _header() -> bytes:
    import importlib.util

    return importlib.util.MAGIC_NUMBER + _TAG


def store_path() -> Path | None:
    """Where the compiled methods are kept (None without a byte-code folder)."""
    import importlib.util

    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    try:
        pyc = importlib.util.cache_from_source(str(Path(__file__).with_name("__init__.py")))
    except (NotImplementedError, ValueError):
        return None
    return Path(pyc).with_name(f"generated-code.{tag}.bin")


def _read(path: Path) -> dict[str, bytes]:
    """The store's modules, each still marshalled ({} when it is missing or damaged)."""
    try:
        blob = path.read_bytes()
    except OSError:
        return {}
    header = _header()
    if not blob.startswith(header):
        return {}
    return _loads(blob[len(header) :], bytes)


def _texts(module: str) -> _Texts:
    """Module's texts: loaded from the store on first use, {} if it has none (or bad)."""
    texts = _codes.get(module)
    if texts is None:
        if not _state.get("read"):
            _state["read"] = True
            path = store_path()
            if path is not None:
                _stored.update(_read(path))
        texts = _codes[module] = _unpack(_stored.pop(module, b""))
    return texts


def _unpack(blob: bytes) -> _Texts:
    return _loads(blob, CodeType) if blob else {}


def _loads(blob: bytes, value_type: type) -> dict[str, Any]:
    """A marshalled dict of str to `value_type`, or {} for anything else."""
    import marshal

    try:
        found = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return {}
    if type(found) is not dict or not all(
        type(k) is str and type(v) is value_type for k, v in found.items()
    ):
        return {}
    return found


def _exec(source: Any, globals: Any = None, locals: Any = None, /, **kwargs: Any) -> Any:
    """`exec` as `dataclasses` calls it, with a promptctl class's text compiled once."""
    module = globals.get("__name__") if type(globals) is dict else None
    if (
        type(source) is str
        and not kwargs
        and type(module) is str
        and module.startswith("promptctl.")
    ):
        texts = _texts(module)
        code = texts.get(source)
        if code is None:
            code = texts[source] = compile(source, "<string>", "exec", dont_inherit=True)
            _new.add(module)
        return builtins.exec(code, globals, locals)
    return builtins.exec(source, globals, locals, **kwargs)


def compiled(module: str, source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")` once: kept in the store under `module` (a
    promptctl module generating code from promptctl's own data, never a user's)."""
    texts = _texts(module)
    key = f"{filename}\0{source}"
    code = texts.get(key)
    if code is None:
        code = texts[key] = compile(source, filename, "exec", dont_inherit=True)
        _new.add(module)
    return code


def on_warm(warmer: Any) -> Any:
    """Register `warmer()` to run in `warm()` (code generated on demand, not at import:
    the schema checks). Usable as a decorator."""
    _warmers.append(warmer)
    return warmer


def install() -> None:
    """Serve promptctl's dataclasses from the store from now on (idempotent)."""
    if _state.get("installed"):
        return
    _state["installed"] = True
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # shadows the builtin there
    atexit.register(_save_if_new)


def _save_if_new() -> None:
    if _new and not sys.dont_write_bytecode:
        _save()


def _save() -> None:
    """Write the store: what it held, with this process's modules replaced."""
    path = store_path()
    if path is None:
        return
    import contextlib
    import marshal
    import os

    merged = _read(path)
    merged.update((module, marshal.dumps(texts)) for module, texts in _codes.items() if texts)
    if sum(len(blob) for blob in merged.values()) > _MAX_BYTES:
        merged = {module: marshal.dumps(texts) for module, texts in _codes.items() if texts}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(tmp, "xb") as fh:
            fh.write(_header() + marshal.dumps(merged))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _new.clear()


def warm() -> int:
    """Import every promptctl module and write the store (`make install` runs this, as
    compileall is run for `.pyc` files); returns how many methods it holds."""
    import contextlib
    import importlib
    import pkgutil

    import promptctl

    install()
    for module in pkgutil.walk_packages(promptctl.__path__, "promptctl."):
        if module.name.endswith("__main__"):
            continue  # runs the CLI
        with contextlib.suppress(Exception):  # an optional extra's module (psycopg, redis)
            importlib.import_module(module.name)
    for warmer in _warmers:
        with contextlib.suppress(Exception):  # a store is an optimisation: never fail install
            warmer()
    _save()
    return sum(len(texts) for texts in _codes.values())
