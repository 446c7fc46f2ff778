"""What a new release takes over from the newest one: a release is the full set.

Publishing one prompt must not drop the others: every prompt of the newest release is
carried over verbatim (its own provenance kept) unless this publish replaces it with
another version or removes it on purpose (`promptctl publish --remove ID`).

Carrying prompts over under a new signature vouches for them, so when the new release
is signed, the release carried from must verify under the same key; an unsigned or
otherwise-signed previous release (first signed publish, key rotation) needs an
explicit `adopt_previous` (`--adopt-previous`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.bundle.release import ReleaseHead
from promptctl.bundle.signing import public_key_pem, verify_bundle
from promptctl.errors import BundleError
from promptctl.promptfile.model import Prompt, ProviderSettings

__all__ = ["carried_entries", "carry_refusals"]


def carried_entries(
    head: ReleaseHead | None, prompts: Sequence[Prompt], remove: Sequence[str]
) -> list[Mapping[str, Any]]:
    """The newest release's entries that stay: not replaced, not removed."""
    if head is None:
        return []
    replaced = {p.id for p in prompts} | set(remove)
    entries: list[Mapping[str, Any]] = head.bundle.doc["prompts"]
    return [e for e in entries if e["id"] not in replaced]


def carry_refusals(
    head: ReleaseHead | None,
    prompts: Sequence[Prompt],
    *,
    remove: Sequence[str],
    signing_key: bytes | None,
    adopt_previous: bool,
    providers: Mapping[str, ProviderSettings] | None = None,
) -> list[str]:
    """Removals that make no sense, carried prompts whose provider is no longer
    configured (`providers`: promptctl.yaml's), and carrying over what this key cannot
    vouch for."""
    reasons = []
    present = {e["id"] for e in head.bundle.doc["prompts"]} if head is not None else set()
    selected = {p.id for p in prompts}
    for prompt_id in dict.fromkeys(remove):
        if prompt_id in selected:
            reasons.append(f"{prompt_id} is both published and removed; choose one")
        elif prompt_id not in present:
            where = head.path.name if head is not None else "no release yet"
            reasons.append(f"cannot remove {prompt_id}: it is not in the newest release ({where})")
    carried = carried_entries(head, prompts, remove)
    if head is not None and providers is not None:
        reasons += _unconfigured(head, carried, providers)
    if head is None or not carried or signing_key is None or adopt_previous:
        return reasons
    try:
        public = public_key_pem(signing_key)
    except BundleError as exc:
        return [*reasons, f"signing key: {exc.message}"]
    try:
        verify_bundle(head.data, public_key=public)
    except BundleError:
        state = "signed by another key" if head.bundle.signed else "unsigned"
        reasons.append(
            f"the newest release {head.path.name} is {state}; this publish would carry its "
            f"{len(carried)} other prompt(s) over under your signature. Check it "
            f"(`promptctl bundle show {head.path}`) and pass --adopt-previous to vouch for them"
        )
    return reasons


def _unconfigured(
    head: ReleaseHead,
    carried: Sequence[Mapping[str, Any]],
    providers: Mapping[str, ProviderSettings],
) -> list[str]:
    """Carried prompts using a provider promptctl.yaml dropped: the bundle could not say
    how to reach it (providers are written from the current config)."""
    out = []
    for entry in carried:
        model = entry["model"]
        uses = [model["use"], *(t["use"] for t in [*model["fallbacks"], *model["routes"]])]
        for name in dict.fromkeys(use.split("/", 1)[0] for use in uses):
            if name not in providers:
                out.append(
                    f"{entry['id']}@{entry['version']} (carried over from {head.path.name}) "
                    f"uses provider {name!r}, which promptctl.yaml no longer configures; "
                    f"configure it or drop the prompt with --remove {entry['id']}"
                )
    return out
