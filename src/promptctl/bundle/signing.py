"""Ed25519 signing and verification of bundles.

The release manager signs with a private key; applications verify with the public key
only. The signature covers the digest's pre-image (`canonical_bytes`), so it also
covers every prompt; it lives inside the document under `signature`. `cryptography` is
imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.bundle.format import BUNDLE_FORMAT, canonical_bytes, compute_digest
from promptctl.errors import BundleError
from promptctl.promptfile.safe_io import nesting_depth

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
    False: it is allowed, but callers should flag it.
    """

    doc: dict[str, Any]
    digest: str
    signed: bool
    verified: bool
    key_id: str | None

    @property
    def flag(self) -> str:
        if self.verified:
            return f"signed, verified (key {self.key_id})"
        if self.signed:
            return f"signed (key {self.key_id}), not verified: no public key given"
        return "UNSIGNED"


_MAX_DEPTH = 200  # prompts carry JSON Schemas; none needs to nest this deep


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

    Checks, in order: JSON (truncation named as such), format version, digest (tamper),
    then the signature: a key given and no signature is refused; no key given and a
    signature present is reported as not verified.
    """
    doc = _parse(data)
    manifest = doc.get("manifest")
    if not isinstance(manifest, dict):
        raise BundleError("not a promptctl bundle: no manifest")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"unsupported bundle format {manifest.get('format')!r}; expected {BUNDLE_FORMAT}"
        )
    expected = compute_digest(doc)
    if manifest.get("digest") != expected:
        raise BundleError(
            f"bundle digest mismatch: the file says {manifest.get('digest')}, its content "
            f"hashes to {expected}; the bundle was modified after it was built"
        )
    _check_structure(doc)
    signature = doc.get("signature")
    if signature is None:
        if public_key is not None:
            raise BundleError("bundle is unsigned but a public key was given; refusing it")
        return VerifiedBundle(doc, expected, signed=False, verified=False, key_id=None)
    if not isinstance(signature, dict) or signature.get("alg") != "ed25519":
        raise BundleError("bundle signature is malformed or not ed25519")
    sig_key_id = str(signature.get("key_id"))
    if public_key is None:
        return VerifiedBundle(doc, expected, signed=True, verified=False, key_id=sig_key_id)
    key = _load_public(public_key)
    _check_signature(key, signature, canonical_bytes(doc))
    return VerifiedBundle(doc, expected, signed=True, verified=True, key_id=key_id(key))


def _parse(data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise BundleError("bundle file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"bundle is not UTF-8 (byte {exc.start})") from exc
    try:
        doc = json.loads(text)
        if nesting_depth(doc, _MAX_DEPTH) > _MAX_DEPTH:
            raise RecursionError
    except RecursionError:
        raise BundleError(
            f"bundle is nested more than {_MAX_DEPTH} levels deep; not a promptctl bundle"
        ) from None
    except json.JSONDecodeError as exc:
        stripped = text.rstrip()
        if exc.pos >= len(stripped) or not stripped.endswith("}"):
            raise BundleError(
                f"bundle is truncated: the JSON ends early after {len(data)} bytes "
                "(an interrupted copy or download?)"
            ) from exc
        raise BundleError(
            f"bundle is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(doc, dict):
        raise BundleError("not a promptctl bundle: the top level is not an object")
    return doc


def _check_structure(doc: Mapping[str, Any]) -> None:
    """The shape the runtime relies on; a digest only proves the content is unchanged."""
    prompts = doc.get("prompts")
    if not isinstance(prompts, list) or not isinstance(doc.get("providers"), dict):
        raise BundleError("bundle is malformed: `prompts` must be a list, `providers` a mapping")
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


def _check_signature(key: Ed25519PublicKey, signature: Mapping[str, Any], message: bytes) -> None:
    from cryptography.exceptions import InvalidSignature

    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
        key.verify(value, message)
    except (InvalidSignature, ValueError) as exc:
        raise BundleError(
            f"bundle signature does not verify with public key {key_id(key)} "
            f"(signed by key {signature.get('key_id')}): wrong key or forged signature"
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
