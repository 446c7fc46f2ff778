"""What makes a bundle document trustworthy, beyond its digest and signature.

`verify_bundle` (the one verifier used by `promptctl bundle verify`, `Runtime.load`,
watch reloads and the publisher reading the previous release) runs these: strict JSON
(a duplicate key anywhere is refused: two `"prompts"` keys would let one reader see
other prompts than another), the shape the runtime relies on, one entry per prompt id,
`manifest.prompt_count`, the release sequence, and every prompt's content hash
recomputed from its content (a stale hash is refused, signed or not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from promptctl.bundle.entries import prompt_from_entry, why
from promptctl.errors import BundleError
from promptctl.promptfile import strict_json
from promptctl.promptfile.model import Prompt
from promptctl.promptfile.safe_io import nesting_depth

__all__ = ["bundle_sequence", "check_document", "parse_document"]

_MAX_DEPTH = 200  # prompts carry JSON Schemas; none needs to nest this deep


def parse_document(data: bytes) -> dict[str, Any]:
    """UTF-8 JSON object with no duplicate key at any depth; else one-line BundleError."""
    if not data.strip():
        raise BundleError("bundle file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"bundle is not UTF-8 (byte {exc.start})") from exc
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise BundleError(
            f"bundle has the key {exc.key!r} twice in one object; readers could disagree on "
            "its value, so it is refused",
            hint="publish it again; never edit a bundle by hand",
        ) from None
    except RecursionError:
        raise BundleError("bundle is nested too deeply to be a promptctl bundle") from None
    except json.JSONDecodeError as exc:
        stripped = text.rstrip()
        if not stripped.lstrip().startswith("{"):  # another kind of file, not a cut bundle
            raise BundleError(
                "not a promptctl bundle: the file is not a JSON object",
                hint="a bundle is the *.bundle.json file `promptctl publish` writes",
            ) from None
        if exc.pos >= len(stripped) or not stripped.endswith("}"):
            raise BundleError(
                f"bundle is truncated: the JSON ends early after {len(data)} bytes "
                "(an interrupted copy or download?)"
            ) from exc
        raise BundleError(
            f"bundle is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except ValueError as exc:  # a number of 5,000 digits
        raise BundleError(f"bundle is not valid JSON: {strict_json.reason(exc)}") from None
    if nesting_depth(doc, _MAX_DEPTH) > _MAX_DEPTH:  # later stages recurse per level
        raise BundleError(
            f"bundle is nested too deeply (more than {_MAX_DEPTH} levels) to be a promptctl bundle"
        )
    if not isinstance(doc, dict):
        raise BundleError("not a promptctl bundle: the top level is not an object")
    if _SURROGATE_ESCAPE.search(text):  # publish writes text as UTF-8, never as escapes
        _refuse_lone_surrogates(doc)
    return doc


# a `\uD800`-`\uDFFF` escape (JSON's way to write half of a UTF-16 pair)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(doc: dict[str, Any]) -> None:
    """A string holding half of a UTF-16 pair has no UTF-8 form: its digest cannot be
    computed, nor its text written anywhere (a traceback in every reader before)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BundleError(
            f"bundle holds a lone UTF-16 surrogate ({exc.object[exc.start]!a}) in a string: "
            "no publish writes one, so the bundle was altered",
            hint="publish it again; never edit a bundle by hand",
        ) from None


def bundle_sequence(doc: Mapping[str, Any]) -> int:
    """The release sequence under the signature; 0 for a bundle published before it existed."""
    manifest = doc.get("manifest")
    value = manifest.get("sequence", 0) if isinstance(manifest, Mapping) else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BundleError(f"bundle is malformed: manifest.sequence {value!r} is not a count")
    return value


def check_document(doc: Mapping[str, Any]) -> tuple[Prompt, ...]:
    """Structure, ids, count, sequence and content hashes; returns the prompts, built once."""
    prompts = doc.get("prompts")
    if not isinstance(prompts, list) or not isinstance(doc.get("providers"), dict):
        raise BundleError("bundle is malformed: `prompts` must be a list, `providers` a mapping")
    bundle_sequence(doc)
    count = doc["manifest"].get("prompt_count")
    if count is not None and count != len(prompts):
        raise BundleError(
            f"bundle is malformed: manifest.prompt_count is {count!r} but it holds "
            f"{len(prompts)} prompt(s)"
        )
    built: dict[str, Prompt] = {}
    for i, entry in enumerate(prompts):
        ok = (
            isinstance(entry, dict)
            and all(isinstance(entry.get(k), str) for k in ("id", "version", "content_hash"))
            and isinstance(entry.get("messages"), list)
            and isinstance(entry.get("model"), dict)
            and isinstance(entry["model"].get("use"), str)
        )
        if not ok:
            raise BundleError(
                f"bundle is malformed: prompts[{i}] lacks id, version, content_hash, "
                "messages or model.use"
            )
        if not isinstance(entry.get("provenance", {}), dict):
            raise BundleError(f"bundle is malformed: prompts[{i}].provenance is not an object")
        try:
            prompt = prompt_from_entry(entry)
            if prompt.id in built:
                raise BundleError(f"bundle is malformed: prompt {prompt.id!r} appears twice")
            _check_content_hash(prompt)
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            # a value of the wrong type deeper in the entry (an unsigned bundle edited
            # with its digest recomputed): refused with its place, never a traceback
            raise BundleError(
                f"bundle is malformed: prompts[{i}] ({entry['id']!r}): {why(exc)}",
                hint="publish it again; never edit a bundle by hand",
            ) from None
        built[prompt.id] = prompt
    return tuple(built.values())


def _check_content_hash(prompt: Prompt) -> None:
    # Defence in depth for unsigned bundles: a template edited and the digest
    # recomputed still cannot pass as the published `id@version+sha256:…`.
    from promptctl.promptfile.hashing import content_hash

    actual = content_hash(prompt)
    if actual != prompt.content_hash:
        raise BundleError(
            f"{prompt.id}@{prompt.version} does not match its published content hash "
            f"({prompt.content_hash}, content is {actual}); the bundle was altered",
            hint="publish it again, and sign bundles so the runtime can verify them",
        )


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out
