"""Read and verify a bundle file into what the runtime serves from.

Everything a request needs is built here, once per (re)load: `Prompt` dataclasses by
id and the provider settings (bundle's, then the deployment's overrides). A bundle
that fails any check raises BundleError and never replaces the one in service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from promptctl.bundle.format import bundle_pricing, bundle_providers
from promptctl.bundle.history import open_bundle
from promptctl.errors import BundleError
from promptctl.promptfile.model import PriceOverride, Prompt, ProviderSettings, url_credentials

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
    pricing: Mapping[str, PriceOverride] = field(default_factory=dict)  # from `pricing:`
    sequence: int = 0  # the signed release sequence (0: a bundle from before sequences)

    def not_held_hint(self, prompt_id: str) -> str:
        """What to say of an id the bundle does not hold: the closest one it does, and
        the first few ids (a bundle of 1,000 prompts is not listed whole)."""
        import difflib

        held = sorted(self.prompts)
        close = difflib.get_close_matches(prompt_id, held, n=1, cutoff=0.6)
        listed = ", ".join(held[:_LISTED]) or "none"
        more = f" and {len(held) - _LISTED} more" if len(held) > _LISTED else ""
        return (f"did you mean {close[0]!r}? " if close else "") + f"it holds: {listed}{more}"


_LISTED = 10


def load_bundle(
    source: Path,
    *,
    public_key: bytes | str | Path | None,
    overrides: Mapping[str, ProviderSettings | Mapping[str, Any]] | None,
) -> LoadedBundle:
    """Verify a bundle (the same checks as `promptctl bundle verify`), build its prompts.

    `source` is a `*.bundle.json` file (an explicit pin: loaded as it is) or a release
    directory, whose `latest` pointer names the bundle to load; a `latest` older than
    a valid release in the directory is refused (`history.resolve_latest`).
    """

    watched = source / "latest" if source.is_dir() else source
    try:
        mtime_ns = os.stat(watched).st_mtime_ns
    except OSError:
        mtime_ns = 0  # open_bundle says why it cannot be read
    path, verified = open_bundle(source, public_key=public_key)
    doc = verified.doc
    return LoadedBundle(
        path=path,
        source=source,
        watched=watched,
        digest=verified.digest,
        signed=verified.signed,
        verified=verified.verified,
        key_id=verified.key_id,
        git_commit=doc["manifest"].get("git_commit"),
        prompts={p.id: p for p in verified.prompts},
        providers=merge_providers(bundle_providers(doc), overrides),
        mtime_ns=mtime_ns,
        pricing=bundle_pricing(doc),
        sequence=verified.sequence,
    )


def _check_types(name: str, values: Mapping[str, Any]) -> None:
    """The override's values by the rules of `providers:` in promptctl.yaml (its JSON
    Schema): `{"base_url": 5}` is a BundleError naming the setting, not a crash later."""
    from promptctl.promptfile.schemas import provider_settings_problem

    problem = provider_settings_problem(name, values)
    if problem is not None:
        raise BundleError(
            f"providers override for {name!r}: {problem[0]}: {problem[1]}",
            hint="the same values as under providers: in promptctl.yaml (docs/config.md)",
        )


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
        _check_types(name, values)
        if name in out:
            out[name] = replace(out[name], **values)
        elif "kind" in values:
            out[name] = ProviderSettings(name=name, **values)
        else:
            raise BundleError(
                f"providers override for {name!r}: the bundle has no such provider",
                hint="give at least `kind` to add one",
            )
    for name, settings in out.items():
        if url_credentials(settings.base_url):  # never echo the URL: it is the secret
            raise BundleError(
                f"provider {name!r}: base_url holds credentials (user:password@)",
                hint="put the key in an environment variable named by api_key_env",
            )
    return out
