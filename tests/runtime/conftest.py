from __future__ import annotations

from pathlib import Path

import pytest

from promptctl.bundle.signing import generate_keypair


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    """(private PEM bytes, public key path)."""
    private, public = generate_keypair(tmp_path_factory.mktemp("keys"))
    return private.read_bytes(), public


@pytest.fixture(scope="session")
def other_keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    private, public = generate_keypair(tmp_path_factory.mktemp("other-keys"))
    return private.read_bytes(), public
