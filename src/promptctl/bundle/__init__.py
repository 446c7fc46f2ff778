"""The bundle format (`promptctl/bundle@1`): what the runtime reads.

Modules: `format` (the document, determinism, digest), `entries` (its prompts,
providers and prices read back, each value checked), `validate` (strict JSON and the
document checks every verifier runs), `signing` (Ed25519 keys, signatures,
`verify_bundle`: the one verifier), `history` (release sequences: the newest release,
rollback refusal), `release` (the release directory: atomic writes, index, `latest`,
lock, immutability), `inspect` (show/diff). Choosing, checking and releasing
prompts is `promptctl.publish`. None imports typer, rich, gitpython or cryptography at
module level: the runtime uses this package.
"""

from promptctl.bundle.format import (
    BUNDLE_FORMAT,
    build_bundle,
    bundle_prompt_to_prompt,
    bundle_providers,
    serialize,
)
from promptctl.bundle.release import ReleaseDir
from promptctl.bundle.signing import VerifiedBundle, generate_keypair, sign, verify_bundle

__all__ = [
    "BUNDLE_FORMAT",
    "ReleaseDir",
    "VerifiedBundle",
    "build_bundle",
    "bundle_prompt_to_prompt",
    "bundle_providers",
    "generate_keypair",
    "serialize",
    "sign",
    "verify_bundle",
]
