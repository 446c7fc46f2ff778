"""Ed25519 signing and verification of bundles.

The release manager signs with a private key; applications verify with the public key
only. The signature covers the digest's pre-image (`canonical_bytes`), so it also
covers every prompt; it lives inside the document under `signature`. `cryptography` is
imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.bundle.format import BUNDLE_FORMAT, canonical_bytes, compute_digest
from promptctl.bundle.validate import bundle_sequence, check_document, parse_document
from promptctl.errors import BundleError
from promptctl.promptfile.model import Prompt

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "PRIVATE_KEY_NAME",
    "PUBLIC_KEY_NAME",
    "VerifiedBundle",
    "generate_keypair",
    "key_id",
    "public_key_pem",
    "sign",
    "verify_bundle",
]

PRIVATE_KEY_NAME = "promptctl-signing.key"
PUBLIC_KEY_NAME = "promptctl-signing.pub.pem"


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose digest (and signature, when present) checked out.

    `signed` says whether the document carries a signature; `verified` whether it was
    checked against a public key. An unsigned bundle loaded without a key has both
    False: it is allowed, but callers should flag it. `key_id` is computed from the
    public key that verified it, never read from the (unsigned) `signature.key_id`.
    `sequence` is the signed release sequence (0: published before sequences existed);
    `prompts` are the entries rebuilt as `Prompt`s, content hashes checked.
    """

    doc: dict[str, Any]
    digest: str
    signed: bool
    verified: bool
    key_id: str | None
    sequence: int = 0
    prompts: tuple[Prompt, ...] = ()

    @property
    def flag(self) -> str:
        if self.verified:
            return f"signed, verified (key {self.key_id})"
        if self.signed:
            return "signed, not verified: no public key given"
        return "UNSIGNED"


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair as PEM; the private file is created 0600.

    Existing files are never overwritten: losing a release key is not undoable.
    """
    private_path, public_path = directory / PRIVATE_KEY_NAME, directory / PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise BundleError(f"{path} already exists; refusing to overwrite a key")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_keys(private_path, public_path)
    except OSError as exc:
        raise BundleError(f"cannot write keys to {directory}: {exc.strerror}") from None
    return private_path, public_path


def _write_keys(private_path: Path, public_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.write_bytes(public_pem)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 over the raw public key: names a key in a bundle."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(private_key_pem: bytes) -> bytes:
    """The public half of a signing key, as PEM: publish checks the previous release with it."""
    from cryptography.hazmat.primitives import serialization

    public = _load_private(private_key_pem).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(doc: Mapping[str, Any], private_key_pem: bytes) -> dict[str, Any]:
    """Return a copy of `doc` with a fresh digest and an Ed25519 `signature`."""
    key = _load_private(private_key_pem)
    signed = {k: v for k, v in doc.items() if k != "signature"}
    signed["manifest"] = {**doc["manifest"], "digest": compute_digest(doc)}
    value = key.sign(canonical_bytes(signed))
    signed["signature"] = {
        "alg": "ed25519",
        "key_id": key_id(key.public_key()),
        "value": base64.b64encode(value).decode("ascii"),
    }
    return signed


def verify_bundle(data: bytes, *, public_key: bytes | str | Path | None) -> VerifiedBundle:
    """Parse and check a bundle file's bytes; raise BundleError with a one-line reason.

    The one verifier: `bundle verify`, `Runtime.load`/reload and publish (reading the
    previous release) all call it. Checks, in order: strict JSON (truncation named as
    such, duplicate keys refused), format version, digest (tamper), the signature when a
    key is given (a key given and no signature is refused), then the document
    (`checks.check_document`: structure, ids, sequence, content hashes); no key given
    and a signature present is reported as not verified. Nothing outside the signed bytes (e.g.
    `signature.key_id`) changes the outcome.
    """
    doc = parse_document(data)
    manifest = doc.get("manifest")
    if not isinstance(manifest, dict):
        raise BundleError("not a promptctl bundle: no manifest")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"unsupported bundle format {manifest.get('format')!r}; expected {BUNDLE_FORMAT}"
        )
    body = canonical_bytes(doc)  # once: the digest's and the signature's message
    expected = "sha256:" + hashlib.sha256(body).hexdigest()
    if manifest.get("digest") != expected:
        raise BundleError(
            f"bundle digest mismatch: the file says {manifest.get('digest')}, its content "
            f"hashes to {expected}; the bundle was modified after it was built"
        )
    signature = doc.get("signature")
    if signature is not None and (
        not isinstance(signature, dict) or signature.get("alg") != "ed25519"
    ):
        raise BundleError("bundle signature is malformed or not ed25519")
    if public_key is not None:
        # authenticate before reading the document any deeper: a forged one is refused
        # for what it is, whatever it holds
        if signature is None:
            raise BundleError("bundle is unsigned but a public key was given; refusing it")
        key = _load_public(public_key)
        _check_signature(key, signature, body)
    prompts = check_document(doc)
    sequence = bundle_sequence(doc)
    if signature is None:
        return VerifiedBundle(doc, expected, False, False, None, sequence, prompts)
    if public_key is None:
        return VerifiedBundle(doc, expected, True, False, None, sequence, prompts)
    return VerifiedBundle(doc, expected, True, True, key_id(key), sequence, prompts)


def _check_signature(key: Ed25519PublicKey, signature: Mapping[str, Any], message: bytes) -> None:
    from cryptography.exceptions import InvalidSignature

    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
        key.verify(value, message)
    except (InvalidSignature, ValueError) as exc:
        raise BundleError(
            f"bundle signature does not verify with public key {key_id(key)}: "
            "wrong key or forged signature"
        ) from exc


def _read_key(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    path = Path(source)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read key file {path}: {exc.strerror}") from exc


def _load_private(pem: bytes) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if b"-----BEGIN PUBLIC KEY-----" in pem:  # keygen's .pub.pem, given by mistake
        raise BundleError(
            "signing key is a public key",
            hint="sign with the private key `promptctl keygen` wrote beside it"
            " (promptctl-signing.key); the .pub.pem is for applications to verify",
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError("signing key is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError("signing key is not an Ed25519 key")
    return key


def _load_public(source: bytes | str | Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(_read_key(source))
    except ValueError as exc:
        raise BundleError("public key is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("public key is not an Ed25519 key")
    return key
