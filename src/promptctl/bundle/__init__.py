"""Build, sign, verify and release published bundles (`promptctl/bundle@1`).

Modules: `format` (the document, determinism, digest), `signing` (Ed25519 keys,
signatures, verification), `release` (the release directory: atomic writes, index,
`latest`, lock, immutability), `checks` (why a publish is refused), `codeowners`
(approver), `inspect` (show/diff), `publish` (the whole flow). None imports typer,
rich, gitpython or cryptography at module level: the runtime uses this package.
"""

from promptctl.bundle.checks import publish_refusals
from promptctl.bundle.format import (
    BUNDLE_FORMAT,
    build_bundle,
    bundle_prompt_to_prompt,
    bundle_providers,
    serialize,
)
from promptctl.bundle.publish import PublishResult, publish
from promptctl.bundle.release import ReleaseDir
from promptctl.bundle.signing import VerifiedBundle, generate_keypair, sign, verify_bundle

__all__ = [
    "BUNDLE_FORMAT",
    "PublishResult",
    "ReleaseDir",
    "VerifiedBundle",
    "build_bundle",
    "bundle_prompt_to_prompt",
    "bundle_providers",
    "generate_keypair",
    "publish",
    "publish_refusals",
    "serialize",
    "sign",
    "verify_bundle",
]
