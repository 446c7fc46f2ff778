"""Read and verify a bundle file into what the runtime serves from.

Everything a request needs is built here, once per (re)load: `Prompt` dataclasses by
id and the provider settings (bundle's, then the deployment's overrides). A bundle
that fails any check raises BundleError and never replaces the one in service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from promptctl.bundle.format import bundle_prompt_to_prompt, bundle_providers
from promptctl.bundle.signing import verify_bundle
from promptctl.errors import BundleError
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import Prompt, ProviderSettings
from promptctl.promptfile.safe_io import MAX_BUNDLE_BYTES, UnsafeFileError, excerpt, read_file

__all__ = ["LoadedBundle", "load_bundle", "merge_providers"]

_SETTING_NAMES = frozenset(f.name for f in fields(ProviderSettings))


@dataclass(frozen=True)
class LoadedBundle:
    """One verified bundle: immutable, swapped as a whole by `Runtime.reload()`."""

    path: Path  # the bundle file
    source: Path  # what was loaded: the file, or a release directory (its `latest`)
    watched: Path  # whose mtime says "changed": the file, or the `latest` pointer
    digest: str
    signed: bool
    verified: bool
    key_id: str | None
    git_commit: str | None
    prompts: Mapping[str, Prompt]
    providers: Mapping[str, ProviderSettings]
    mtime_ns: int


_MAX_POINTER_BYTES = 4096  # one file name; a `latest` linked to a big file is refused


def load_bundle(
    source: Path,
    *,
    public_key: bytes | str | Path | None,
    overrides: Mapping[str, ProviderSettings | Mapping[str, Any]] | None,
) -> LoadedBundle:
    """Verify a bundle (digest, then signature when a key is given), build its prompts.

    `source` is a `*.bundle.json` file or a release directory, whose `latest` pointer
    names the bundle to load.
    """
    path, watched = _resolve(source)
    try:
        mtime_ns = os.stat(watched).st_mtime_ns
        data = read_file(path, root=None, limit=MAX_BUNDLE_BYTES, what="bundle")
    except UnsafeFileError as exc:
        raise BundleError(exc.message, hint=exc.hint) from None
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path}: {exc.strerror}") from exc
    try:
        verified = verify_bundle(data, public_key=public_key)
    except BundleError as exc:
        raise BundleError(f"{path}: {exc.message}", hint=exc.hint) from None
    doc = verified.doc
    prompts = {}
    for entry in doc["prompts"]:
        prompt = bundle_prompt_to_prompt(entry)
        # Defence in depth for unsigned bundles: a template edited and the digest
        # recomputed still cannot pass as the published `id@version+sha256:…`.
        actual = content_hash(prompt)
        if actual != prompt.content_hash:
            raise BundleError(
                f"{path}: {prompt.id}@{prompt.version} does not match its published content "
                f"hash ({prompt.content_hash}, content is {actual}); the bundle was altered",
                hint="publish it again, and sign bundles so the runtime can verify them",
            )
        prompts[prompt.id] = prompt
    return LoadedBundle(
        path=path,
        source=source,
        watched=watched,
        digest=verified.digest,
        signed=verified.signed,
        verified=verified.verified,
        key_id=verified.key_id,
        git_commit=doc["manifest"].get("git_commit"),
        prompts=prompts,
        providers=merge_providers(bundle_providers(doc), overrides),
        mtime_ns=mtime_ns,
    )


def _resolve(source: Path) -> tuple[Path, Path]:
    if not source.is_dir():
        return source, source
    pointer = source / "latest"
    try:
        raw = read_file(pointer, root=None, limit=_MAX_POINTER_BYTES, what="`latest` pointer")
        name = raw.decode("utf-8", "replace").strip()
    except UnsafeFileError as exc:
        raise BundleError(
            f"{pointer} is not a release pointer: {exc.message}",
            hint="publish writes `latest` as one line naming a bundle file",
        ) from None
    except OSError as exc:
        raise BundleError(
            f"{source} is a directory without a readable `latest` pointer: {exc.strerror}",
            hint="pass a *.bundle.json file or a release directory written by publish",
        ) from exc
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise BundleError(
            f"{pointer} does not name a bundle file in {source}: {excerpt(name)}",
            hint="publish writes `latest` as one line naming a bundle file",
        )
    return source / name, pointer


def merge_providers(
    base: Mapping[str, ProviderSettings],
    overrides: Mapping[str, ProviderSettings | Mapping[str, Any]] | None,
) -> dict[str, ProviderSettings]:
    """The bundle's providers with per-deployment overrides applied.

    A `ProviderSettings` replaces the bundle's entry; a mapping changes only the keys it
    names (e.g. `{"openai": {"base_url": "http://proxy:8080/v1"}}`) and may add a
    provider when it gives at least `kind`.
    """
    out = dict(base)
    for name, override in (overrides or {}).items():
        if isinstance(override, ProviderSettings):
            out[name] = replace(override, name=name)
            continue
        unknown = sorted(set(override) - _SETTING_NAMES)
        if unknown:
            raise BundleError(
                f"providers override for {name!r}: unknown setting(s) {', '.join(unknown)}",
                hint="known: " + ", ".join(sorted(_SETTING_NAMES - {"name"})),
            )
        values = {k: v for k, v in override.items() if k != "name"}
        if name in out:
            out[name] = replace(out[name], **values)
        elif "kind" in values:
            out[name] = ProviderSettings(name=name, **values)
        else:
            raise BundleError(
                f"providers override for {name!r}: the bundle has no such provider",
                hint="give at least `kind` to add one",
            )
    return out
