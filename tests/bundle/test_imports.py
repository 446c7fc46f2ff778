"""The runtime will import bundle and ledger modules: they must stay light."""

import subprocess
import sys

import pytest

HEAVY = ("typer", "rich", "git", "deepdiff", "click", "cryptography")


@pytest.mark.parametrize(
    "module",
    [
        "promptctl.bundle.format",
        "promptctl.bundle.signing",
        "promptctl.bundle.release",
        "promptctl.bundle.publish",
        "promptctl.bundle",
        "promptctl.ledger",
        "promptctl.ledger.report",
        "promptctl.ledger.budgets",
    ],
)
def test_module_imports_nothing_heavy(module: str) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api_is_exactly_the_intended_names() -> None:
    import promptctl.bundle
    import promptctl.ledger

    assert sorted(promptctl.bundle.__all__) == [
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
    assert all(hasattr(promptctl.bundle, name) for name in promptctl.bundle.__all__)
    assert sorted(promptctl.ledger.__all__) == ["DEFAULT_LEDGER_PATH", "Ledger", "connect"]
