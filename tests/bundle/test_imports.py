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
        "promptctl.publish.flow",
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
    assert all(hasattr(promptctl.bundle, name) for name in promptctl.bundle.__all__)
    import promptctl.publish

    assert sorted(promptctl.publish.__all__) == ["PublishResult", "publish", "publish_refusals"]
    assert all(hasattr(promptctl.publish, name) for name in promptctl.publish.__all__)
    assert sorted(promptctl.ledger.__all__) == ["DEFAULT_LEDGER_PATH", "Ledger", "connect"]
