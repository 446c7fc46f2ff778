"""Redaction: the one home of "no secret in any message or artifact".

Two layers, both here:
- known secrets: the values of every configured provider's `api_key_env` (`Redactor`).
  Each is removed whole, and so is any piece of it of at least `MIN_FRAGMENT` characters
  that starts or ends it: a message cut mid-key (a 200-character excerpt of an error
  body) still leaks no usable prefix or suffix;
- anything shaped like a key (`sk-…`, `AIza…`, `Bearer …`, `key=…`), for keys that were
  never configured here (`scrub` without secrets).

Redaction always happens before any truncation. The gateway scrubs each response body
before parsing it, so a server that echoes the request headers puts the key into no
answer, error, cache entry, recording, results document, JUnit file or terminal line;
the writers of those artifacts scrub again (inputs and check output may hold a key too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, AnyStr

from promptctl.promptfile.model import ProviderSettings

__all__ = ["MARK", "MIN_FRAGMENT", "Redactor", "scrub", "secrets_from_env"]

MARK = "[redacted]"
MIN_FRAGMENT = 8  # shorter pieces of a key are too common to remove and too short to use
_MIN_SECRET = 4  # a shorter "key" is not a secret worth hiding (and would redact noise)

_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|(?i:bearer)\s+[A-Za-z0-9._\-]{8,}"
    r"|(?i:(?:api[-_]?key|x-api-key|key)=)[A-Za-z0-9._\-]{8,})"
)


def secrets_from_env(
    providers: Iterable[ProviderSettings], env: Mapping[str, str]
) -> tuple[str, ...]:
    """The key values of the given providers that are set in `env` (longest first)."""
    values = {env.get(p.api_key_env, "") for p in providers if p.api_key_env}
    return tuple(sorted((v for v in values if len(v) >= _MIN_SECRET), key=len, reverse=True))


@dataclass(frozen=True)
class Redactor:
    """Removes `secrets` (and their prefixes/suffixes) from text, bytes and JSON data."""

    secrets: tuple[str, ...] = ()
    # what `_mentioned_in` looks for, computed once: a run asks for every case
    _needles: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _always_walk: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        needles = tuple(
            piece
            for s in self.secrets
            for piece in ((s,) if len(s) < MIN_FRAGMENT else (s[:MIN_FRAGMENT], s[-MIN_FRAGMENT:]))
        )
        object.__setattr__(self, "_needles", needles)
        object.__setattr__(self, "_always_walk", any(_escaped_in_json(s) for s in self.secrets))

    def text(self, text: str) -> str:
        """`text` without the known secrets nor anything shaped like a key."""
        for secret in self.secrets:
            text = _remove(text, secret, MARK)
        return _KEY_PATTERNS.sub(MARK, text)

    def known(self, text: str) -> str:
        """`text` without the known secrets only (no pattern matching: cheap, exact)."""
        for secret in self.secrets:
            text = _remove(text, secret, MARK)
        return text

    def bytes(self, data: bytes) -> bytes:
        """A response body without the known secrets (a fast no-op when none is there)."""
        mark = MARK.encode()
        for secret in self.secrets:
            data = _remove(data, secret.encode("utf-8"), mark)
        return data

    def data(self, value: Any) -> Any:
        """JSON-like data with every string scrubbed of the known secrets; the very same
        object when nothing had to change (so callers can tell cheaply)."""
        if not self.secrets:
            return value
        if isinstance(value, dict | list) and not self._mentioned_in(value):
            return value
        return self._data(value)

    def data_json(self, value: Any, encode: Callable[[Any], str]) -> tuple[Any, str]:
        """`data(value)` and its JSON as `encode` writes it (with `ensure_ascii=False`),
        encoding once when no secret can be in it: the check reads that same text. A
        run writes each case this way (one encode per case instead of two)."""
        text = encode(value)
        if self.secrets and self._mentioned_in_json(text):
            clean = self._data(value)
            if clean is not value:
                return clean, encode(clean)
        return value, text

    def _mentioned_in(self, value: Any) -> bool:
        """Whether any secret (or a piece `_remove` would cut) may be in `value`: one C pass
        over its JSON instead of a Python call per value. Runs hand it one case (or the
        run's head, or one summary) at a time, never a whole document."""
        if self._always_walk:
            return True
        try:
            text = _PIECE_JSON.encode(value)
        except (TypeError, ValueError, RecursionError):  # keys JSON cannot hold: walk it
            return True
        return self._mentioned_in_json(text)

    def _mentioned_in_json(self, text: str) -> bool:
        """Whether a secret may be in the data `text` encodes (JSON with `ensure_ascii`
        off). JSON escapes only `"`, `\\` and control characters, so a secret without
        those appears in it verbatim; one with them always takes the full walk."""
        return self._always_walk or any(needle in text for needle in self._needles)

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.known(value)
        if isinstance(value, dict):
            out = {k: self._data(v) for k, v in value.items()}
            return value if all(out[k] is value[k] for k in value) else out
        if isinstance(value, list):
            items = [self._data(v) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value


_PIECE_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # built once


def _escaped_in_json(secret: str) -> bool:
    return any(c in secret for c in '"\\') or any(ord(c) < 0x20 for c in secret)


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove the given secrets (and their prefixes/suffixes) and key-shaped strings."""
    return Redactor(tuple(s for s in secrets if s and len(s) >= _MIN_SECRET)).text(text)


def _remove(text: AnyStr, secret: AnyStr, mark: AnyStr) -> AnyStr:
    """`text` with `secret`, and any run of >= MIN_FRAGMENT characters that is a prefix or
    a suffix of it, replaced by `mark`."""
    if len(secret) < MIN_FRAGMENT:
        return text.replace(secret, mark)
    head, tail = secret[:MIN_FRAGMENT], secret[-MIN_FRAGMENT:]
    if head not in text and tail not in text:
        return text  # the common case: two substring searches
    text = text.replace(secret, mark)
    spans: list[tuple[int, int]] = []
    start = text.find(head)
    while start != -1:  # a prefix: extend forwards while it still matches the secret
        n = MIN_FRAGMENT
        while n < len(secret) and text[start + n : start + n + 1] == secret[n : n + 1]:
            n += 1
        spans.append((start, start + n))
        start = text.find(head, start + n)
    end = text.find(tail)
    while end != -1:  # a suffix: extend backwards
        begin, n = end, MIN_FRAGMENT
        while n < len(secret) and begin > 0 and text[begin - 1 : begin] == secret[-n - 1 : -n]:
            begin -= 1
            n += 1
        spans.append((begin, end + MIN_FRAGMENT))
        end = text.find(tail, end + MIN_FRAGMENT)
    pieces: list[AnyStr] = []
    last = 0
    for begin, stop in sorted(spans):
        if stop <= last:
            continue
        pieces.append(text[last : max(begin, last)])
        pieces.append(mark)
        last = stop
    pieces.append(text[last:])
    return text[:0].join(pieces)
