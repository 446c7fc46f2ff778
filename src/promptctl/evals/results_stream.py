"""Writing a results document case by case, so a run holds none of its finished cases.

The document keeps its shape (`results._chunks`: one case per line, in case order), and
`results.read_results` can read the file at every moment:

- it appears whole: the first partial document is written to a temporary file renamed
  to `path`, never an empty file at `path`;
- while the run goes, `path` holds the cases written so far, then `"summary": []`, under
  a `run` with `interrupted: true` and `finished_at: null`: a run killed (SIGKILL, out of
  memory, a CI timeout) leaves that partial document; readers recompute its summary;
- each flush rewrites only the end of the file (`os.pwrite` of the new cases followed by
  the closing brackets, one system call). A reader racing that write (Linux does not
  make a read wait for a write to a regular file), or a SIGKILL landing inside it, can
  see a torn end: new bytes cut anywhere. Its lines up to the cut are whole cases, so
  `recover_partial` reads the document as the cases before the cut;
- `finish` writes the final document to a temporary file next to `path` (the final
  `run`, the cases copied from the partial file, the summary) and renames it over `path`:
  a reader sees the partial document or the final one, never half of one.

With no `path` (a run that writes no file) the cases go to an anonymous temporary file,
read back by `load`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from promptctl.errors import UsageError
from promptctl.promptfile.atomic_file import replace_file

__all__ = ["FLUSH_SECONDS", "ResultsStream", "copy_results", "recover_partial"]

FLUSH_BYTES = 64 * 1024
FLUSH_SECONDS = 1.0  # a killed run loses at most about this much of its finished cases
_COPY_CHUNK = 64 * 1024


CASE_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
"""How the document's values are encoded (built once: `json.dumps` with arguments builds
an encoder per call); `add_json` takes a case already encoded by it."""


def finite(value: Any) -> Any:
    """`value` with each NaN or infinity written as its name ("NaN", "Infinity"), and any
    other value JSON has not as its text (a YAML date in a test's `vars:`, `2024-01-02`;
    `!!binary`'s bytes): what CASE_JSON cannot encode. The readers refuse NaN (prompt
    files, datasets, a model's tool arguments) and a typed input refuses a date; this is
    the last line, so a run writes its cases whatever gets by."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [finite(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _dump(value: Any) -> bytes:
    return CASE_JSON.encode(value).encode()


def _head(schema: str, run: Mapping[str, Any]) -> bytes:
    return b'{"schema": ' + _dump(schema) + b',\n "run": ' + _dump(run) + b',\n "cases": '


def _list(items: Sequence[Mapping[str, Any]]) -> bytes:
    """A list as `results._chunks` writes it: one item per line."""
    if not items:
        return b"[]"
    return b"[\n  " + b",\n  ".join(_dump(i) for i in items) + b"\n ]"


_PARTIAL_TAIL = b'\n ],\n "summary": []}\n'


class ResultsStream:
    """The results document of one run, written as its cases finish (see the module)."""

    def __init__(self, path: Path | None, schema: str, run: Mapping[str, Any]) -> None:
        self.path = path
        self._schema = schema
        self._file: IO[bytes]
        tmp = None
        try:
            if path is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish/close)
            else:  # written whole to a file beside it, then renamed: `path` is never empty
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
                self._file = os.fdopen(fd, "w+b")
            head = _head(schema, {**run, "interrupted": True, "finished_at": None}) + b"["
            self._fd = self._file.fileno()
            os.pwrite(self._fd, head + _PARTIAL_TAIL, 0)
            if path is not None and tmp is not None:
                os.replace(tmp, path)  # the open file is `path` from now on
                tmp = None
        except OSError as exc:
            raise self._error(exc) from None
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        self._start = self._end = len(head)  # the cases' bytes: [start, end)
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._flushed_at = time.monotonic()
        self.cases = 0

    def add(self, case: Mapping[str, Any]) -> None:
        """Append one case (in document order); written out in batches (`FLUSH_*`)."""
        self.add_json(CASE_JSON.encode(case))

    def add_json(self, case: str) -> None:
        """`add` of a case as `CASE_JSON` encoded it."""
        data = (b"\n  " if self.cases == 0 else b",\n  ") + case.encode()
        self.cases += 1
        self._pending.append(data)
        self._pending_bytes += len(data)
        if (
            self._pending_bytes >= FLUSH_BYTES
            or time.monotonic() - self._flushed_at >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """The pending cases and the closing brackets, in one write at the end of the cases."""
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        try:
            os.pwrite(self._fd, data + _PARTIAL_TAIL, self._end)
        except OSError as exc:
            raise self._error(exc) from None
        self._end += len(data)

    def finish(self, run: Mapping[str, Any], summary: Sequence[Mapping[str, Any]]) -> None:
        """The final document, in place of the partial one (atomically for a `path`)."""
        self.flush()
        if self.path is None:
            final = tempfile.TemporaryFile()  # noqa: SIM115 (kept for load, closed by close)
            self._write_final(final, run, summary)
            self._file.close()
            self._file = final
            return
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
        except OSError as exc:
            raise self._error(exc) from None
        try:
            with os.fdopen(fd, "wb") as out:
                self._write_final(out, run, summary)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise self._error(exc) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            self._file.close()

    def _write_final(
        self, out: IO[bytes], run: Mapping[str, Any], summary: Sequence[Mapping[str, Any]]
    ) -> None:
        out.write(_head(self._schema, run))
        if self.cases:
            out.write(b"[")
            self._file.seek(self._start)
            left = self._end - self._start
            while left > 0:
                chunk = self._file.read(min(_COPY_CHUNK, left))
                if not chunk:
                    raise OSError(5, "results file shrank while being finished")
                out.write(chunk)
                left -= len(chunk)
            out.write(b"\n ]")
        else:
            out.write(b"[]")
        out.write(b',\n "summary": ' + _list(summary) + b"}\n")

    def load(self) -> dict[str, Any]:
        """The document as written (with no `path`: only until `close`)."""
        if self.path is not None:
            with self.path.open("rb") as fh:
                data: dict[str, Any] = json.load(fh)
            return data
        self._file.seek(0)
        data = json.load(self._file)
        return data

    def close(self) -> None:
        self._file.close()

    def _error(self, exc: OSError) -> UsageError:
        where = self.path if self.path is not None else "a temporary file"
        return UsageError(f"cannot write results file {where}: {exc.strerror or exc}")


_DECODER = json.JSONDecoder()


def recover_partial(text: str) -> dict[str, Any] | None:
    """The partial document of a run whose file ends torn (see the module): its head and
    the whole case lines before the cut, under `"summary": []`; None when `text` is not
    one (a document of another shape is left to the JSON error)."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[2] != ' "cases": [':
        return None
    try:
        head = json.loads(lines[0] + lines[1].rstrip(",") + "}")
    except json.JSONDecodeError:
        return None
    run = head.get("run") if isinstance(head, dict) else None
    if not isinstance(run, dict) or run.get("interrupted") is not True:
        return None  # only a document still being written (or killed) is cut short
    cases: list[Any] = []
    for line in lines[3:]:
        try:  # a whole case, maybe followed by a torn write's first bytes or the old end's
            case, _ = _DECODER.raw_decode(line.strip())
        except json.JSONDecodeError:
            break  # the cut, or the closing brackets
        if not isinstance(case, dict) or "key" not in case:
            break  # the old end's `"summary": []}` after a cut (alone, or after a new `{`)
        cases.append(case)
    return {"schema": head.get("schema"), "run": run, "cases": cases, "summary": []}


def copy_results(source: Path, dest: Path) -> None:
    """Copy a finished results file to `dest` atomically (temp file, then rename)."""

    def copy(out: IO[bytes]) -> None:
        with source.open("rb") as src:
            shutil.copyfileobj(src, out, _COPY_CHUNK)

    replace_file(dest, copy, label="results file")
