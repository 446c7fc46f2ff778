"""Record/replay: reviewable response files under `evals/recordings/`.

One pretty, sorted-key JSON file per request hash at `<hash[:2]>/<hash>.json`, holding
the canonical request (no headers, so no keys) and the response. Committed to git, they
let CI and a fresh clone run every evaluation without a key or network.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from promptctl.errors import ProviderError
from promptctl.plan.request import ChatRequest
from promptctl.promptfile.json_text import loads_clean
from promptctl.promptfile.safe_io import UnsafeFileError, read_file
from promptctl.providers.codec import response_from_data, response_to_data
from promptctl.providers.types import ChatResponse

__all__ = ["MODES", "Mode", "RecordingStore"]

Mode = Literal["auto", "record", "replay", "live"]
MODES: tuple[Mode, ...] = ("auto", "record", "replay", "live")
SCHEMA = "promptctl/recording@1"
MAX_RECORDING_BYTES = 16 * 1024 * 1024


class RecordingStore:
    """The recordings under `root`. The shard folders present (`<hash[:2]>/`) are listed
    once, at the first lookup, and kept up to date by `save`: a run without recordings, or
    with few, looks most keys up without a system call. A recording another process adds
    to a new shard while this store is in use is not seen until the next run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._shards: set[str] | None = None

    def _has_shard(self, shard: str) -> bool:
        if self._shards is None:
            try:
                self._shards = set(os.listdir(self._root))
            except OSError:  # no recordings folder (or not a folder): nothing recorded
                self._shards = set()
        return shard in self._shards

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether a recording exists for `key` (a malformed one still counts: `load` says so)."""
        return self.path_for(key).is_file()

    def load(self, key: str) -> ChatResponse | None:
        # the common case (no recording): one lstat of a plain string path, not read_file's
        # realpath walk of every parent (~10 lstats); whatever is there is checked below
        if not self._has_shard(key[:2]) or not os.path.lexists(
            f"{self._root}/{key[:2]}/{key}.json"
        ):
            return None
        path = self.path_for(key)
        try:
            # committed by pull requests: a FIFO or a link out of the folder is refused
            raw = read_file(path, root=self.root, limit=MAX_RECORDING_BYTES, what="recording")
        except FileNotFoundError:
            return None
        except UnsafeFileError as exc:
            raise ProviderError("bad_response", exc.message, hint=exc.hint) from None
        detail = ""
        try:
            data: Mapping[str, Any] = loads_clean(raw.decode("utf-8"))
            return response_from_data(data["response"])
        except ProviderError as exc:  # a field of the wrong type: say which
            detail = exc.message.removeprefix(f"{exc.kind}: ")
            detail = ": " + detail.removeprefix("stored response is malformed: ")
        except (ValueError, KeyError, TypeError, RecursionError):
            pass
        raise ProviderError(
            "bad_response",
            f"recording {path} is malformed{detail}",
            hint="delete it and re-record with --mode record",
        )

    def save(
        self,
        key: str,
        request: ChatRequest,
        repeat: int,
        response: ChatResponse,
        *,
        redact: Callable[[str], str] | None = None,
    ) -> Path:
        """Write atomically (temp file + rename) so a reader never sees half a file.

        `redact` scrubs the text written: recordings are committed to the repository.
        """
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._shards is not None:
            self._shards.add(key[:2])
        doc = {
            "schema": SCHEMA,
            "key": key,
            "repeat": repeat,
            "request": request.canonical(),
            "response": response_to_data(response),
        }
        text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if redact is not None:
            text = redact(text)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
        return path
