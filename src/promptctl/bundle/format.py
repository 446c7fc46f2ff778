"""The bundle document, `promptctl/bundle@1`: one deterministic JSON file per publish.

Same prompts in, same bytes out: keys are sorted, separators fixed, text is UTF-8 with
a trailing newline, and no wall-clock time is written unless `SOURCE_DATE_EPOCH` is
set (reproducible-builds convention). The digest is SHA-256 over the *canonical* bytes
of the document without `manifest.digest` and `signature` (compact JSON, sorted keys),
so it does not depend on how the file is indented. See docs/bundle-format.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptctl.bundle.entries import bundle_pricing, bundle_prompt_to_prompt, bundle_providers
from promptctl.errors import BundleError
from promptctl.promptfile.model import (
    MessageTemplate,
    PriceOverride,
    Prompt,
    ProviderSettings,
    url_credentials,
)

__all__ = [
    "BUNDLE_FORMAT",
    "build_bundle",
    "bundle_pricing",
    "bundle_prompt_to_prompt",
    "bundle_providers",
    "canonical_bytes",
    "compute_digest",
    "identity",
    "serialize",
]

BUNDLE_FORMAT = "promptctl/bundle@1"

# Provider header names that carry credentials: a bundle must never hold a key.
_SECRET_HEADER_WORDS = ("authorization", "api-key", "apikey", "token", "secret", "cookie")
_EVAL_FIELDS = (
    "target",
    "cases",
    "passed",
    "failed",
    "errors",
    "skipped",
    "pass_rate",
    "mean_score",
    "cost_usd",
    "latency_p50_ms",
    "latency_p95_ms",
)


def identity(prompt_id: str, version: str, content_hash: str) -> str:
    """`id@version+sha256:…`: the published name of one prompt version."""
    digest = content_hash if content_hash.startswith("sha256:") else f"sha256:{content_hash}"
    return f"{prompt_id}@{version}+{digest}"


def build_bundle(
    prompts: Sequence[Prompt],
    *,
    providers: Mapping[str, ProviderSettings],
    eval_summaries: Mapping[str, Sequence[Mapping[str, Any]]],
    git_commit: str | None,
    created_from: str,
    approvers: Mapping[str, str] | None = None,
    root: Path | None = None,
    pricing: Mapping[str, PriceOverride] | None = None,
    sequence: int = 0,
    carried: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build the unsigned bundle document (with its digest) for `prompts`.

    `eval_summaries` maps a content hash to the results-document summary rows that
    approved it; `approvers` maps a prompt id to who approved it (CODEOWNERS match),
    defaulting to the prompt's `owner`. Message templates must already have partials
    inlined. `root` makes each prompt's `source` path relative (and so portable).
    `pricing` (promptctl.yaml's `pricing:`) travels for the providers the prompts use, so
    the runtime prices those models as `promptctl test` did; it is under the digest.
    `sequence` and `carried` make it a release (`_release_fields`, `_with_carried`).
    """
    entries = _with_carried(
        [
            _prompt_entry(p, eval_summaries.get(p.content_hash, ()), git_commit, approvers, root)
            for p in prompts
        ],
        carried,
    )
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "git_commit": git_commit,
        "created_from": created_from,
        "prompt_count": len(entries),
    }
    _release_fields(manifest, sequence)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            stamp = datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError, OSError):  # not a number, or past year 9999
            raise BundleError(
                f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a time in seconds since 1970",
                hint="set it to the last commit's time: git log -1 --format=%ct",
            ) from None
        manifest["created_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc: dict[str, Any] = {
        "manifest": manifest,
        "prompts": entries,
        "providers": _provider_entries(
            [*prompts, *(bundle_prompt_to_prompt(e) for e in carried)], providers
        ),
    }
    prices = _pricing_entries(prompts, pricing or {})
    if prices:  # absent when empty: bundles without overrides keep their bytes
        doc["pricing"] = prices
    manifest["digest"] = compute_digest(doc)
    return doc


def _release_fields(manifest: dict[str, Any], sequence: int) -> None:
    """`manifest.sequence`: the release number, signed, one more than the last publish's.

    0 (a bundle built outside a release directory) writes no field, so such bundles
    keep their bytes; see docs/bundle-format.md "Releases".
    """
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise BundleError(f"release sequence {sequence!r} is not a count")
    if sequence:
        manifest["sequence"] = sequence


def _with_carried(
    entries: list[dict[str, Any]], carried: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """New entries plus the previous release's entries kept verbatim, sorted by id.

    A carried entry keeps its own provenance (the commit and evals it was published
    with). One version per id: an id both new and carried is the caller's mistake.
    """
    out = [*entries, *(_plain(dict(e), where=str(e.get("id"))) for e in carried)]
    seen: set[str] = set()
    for entry in out:
        if entry["id"] in seen:
            raise BundleError(f"prompt {entry['id']!r} appears twice; a bundle holds one version")
        seen.add(entry["id"])
    return sorted(out, key=lambda e: str(e["id"]))


def canonical_bytes(doc: Mapping[str, Any]) -> bytes:
    """The digest's pre-image: the document without `manifest.digest` and `signature`."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    manifest = body.get("manifest")
    if isinstance(manifest, Mapping):
        body["manifest"] = {k: v for k, v in manifest.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def compute_digest(doc: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(doc)).hexdigest()


def serialize(doc: Mapping[str, Any]) -> bytes:
    """The file's bytes: indented for review, but byte-for-byte reproducible."""
    text = json.dumps(doc, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def _pricing_entries(
    prompts: Sequence[Prompt], pricing: Mapping[str, PriceOverride]
) -> dict[str, Any]:
    used = _used_providers(prompts)
    return {
        target: {
            "input": p.input,
            "output": p.output,
            "cached_input": p.cached_input,
            "cache_write": p.cache_write,
        }
        for target, p in sorted(pricing.items())
        if target.split("/", 1)[0] in used
    }


def _messages_entry(messages: Sequence[MessageTemplate]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        entry: dict[str, Any] = {
            "role": m.role,
            "template": m.template,
            "history_var": m.history_var,
        }
        if m.max_tokens is not None:  # only when set: older bundles stay byte-identical
            entry["max_tokens"] = m.max_tokens
        if m.max_messages is not None:
            entry["max_messages"] = m.max_messages
        out.append(entry)
    return out


def _prompt_entry(
    prompt: Prompt,
    summaries: Sequence[Mapping[str, Any]],
    git_commit: str | None,
    approvers: Mapping[str, str] | None,
    root: Path | None,
) -> dict[str, Any]:
    if not prompt.content_hash:
        raise BundleError(f"prompt {prompt.id!r} has no content hash; load it through the loader")
    model = prompt.model
    evals = sorted(
        ({k: row.get(k) for k in _EVAL_FIELDS} for row in summaries),
        key=lambda row: str(row["target"]),
    )
    entry: dict[str, Any] = _plain(
        {
            "id": prompt.id,
            "version": prompt.version,
            "content_hash": prompt.content_hash,
            "identity": identity(prompt.id, prompt.version, prompt.content_hash),
            "source": _source(prompt.path, root),
            "status": prompt.status,
            "description": prompt.description,
            "owner": prompt.owner,
            "tags": list(prompt.tags),
            "messages": _messages_entry(prompt.messages),
            "inputs": prompt.inputs,
            "output": {"format": prompt.output.format, "schema": prompt.output.schema},
            **_tools_entry(prompt),
            "model": {
                "use": model.use,
                "params": model.params,
                "fallbacks": [
                    {
                        "use": f.use,
                        "params": f.params,
                        "messages": _messages_entry(f.messages) if f.messages else None,
                    }
                    for f in model.fallbacks
                ],
                "routes": [{"when": r.when, "use": r.use} for r in model.routes],
            },
            "provenance": {
                "git_commit": git_commit,
                "approver": (approvers or {}).get(prompt.id) or prompt.owner,
                "evals": evals,
            },
        },
        where=prompt.id,
    )
    return entry


def _tools_entry(prompt: Prompt) -> dict[str, Any]:
    """`tools`/`tool_choice`, only when the prompt has them (older bundles stay the same)."""
    out: dict[str, Any] = {}
    if prompt.tools:
        out["tools"] = [
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in prompt.tools
        ]
    if prompt.tool_choice is not None:
        out["tool_choice"] = prompt.tool_choice
    return out


def _source(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix() if not path.is_absolute() else path.name


def _used_providers(prompts: Sequence[Prompt]) -> set[str]:
    names: set[str] = set()
    for p in prompts:
        uses = [p.model.use, *(f.use for f in p.model.fallbacks), *(r.use for r in p.model.routes)]
        names.update(u.split("/", 1)[0] for u in uses)
    return names


def _provider_entries(
    prompts: Sequence[Prompt], providers: Mapping[str, ProviderSettings]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(_used_providers(prompts)):
        settings = providers.get(name)
        if settings is None:
            raise BundleError(
                f"a prompt uses provider {name!r}, which is not configured in promptctl.yaml"
            )
        if url_credentials(settings.base_url):
            raise BundleError(
                f"providers.{name}.base_url holds credentials (user:password@) and would be "
                "published in the bundle; use api_key_env instead"
            )
        for header in settings.headers:
            if any(word in header.lower() for word in _SECRET_HEADER_WORDS):
                raise BundleError(
                    f"providers.{name}.headers.{header} looks like a credential and would be "
                    "published in the bundle; use api_key_env instead"
                )
        out[name] = {
            "kind": settings.kind,
            "base_url": settings.base_url,
            "api_key_env": settings.api_key_env,
            "timeout_s": settings.timeout_s,
            "max_concurrency": settings.max_concurrency,
            "rpm": settings.rpm,
            "max_retries": settings.max_retries,
            "headers": dict(settings.headers),
            "api_version": settings.api_version,
            "dialect": settings.dialect,
        }
        if settings.tpm is not None:  # only when set: older bundles keep their bytes
            out[name]["tpm"] = settings.tpm
    return out


def _plain(value: Any, *, where: str) -> Any:
    """Mappings/tuples to dicts/lists; refuse values JSON cannot hold exactly."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, where=where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, where=where) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise BundleError(f"prompt {where!r}: {value} is not a JSON number")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise BundleError(
        f"prompt {where!r}: value {value!r} of type {type(value).__name__} cannot go in a bundle"
    )
