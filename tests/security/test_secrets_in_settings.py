"""A key pasted into `api_key_env`, or a token in a header's value, is never quoted by the
error that refuses it: `lint`, `test`, a runtime override and a bundle's provider all
echoed it before (a CI log is an artifact)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.cli import invoke
from promptctl.bundle.format import compute_digest
from promptctl.errors import BundleError
from promptctl.runtime import Runtime
from runtime.helpers import prompt, write_bundle

SECRET = "sk-proj-Q8v3xT1nW4mZ7kR2"
PROVIDERS = {
    "api_key_env": f"openai: {{kind: openai, api_key_env: {SECRET}}}",
    "headers": f'openai: {{kind: openai, headers: {{Authorization: "Bearer {SECRET}\\n"}}}}',
}


@pytest.mark.parametrize("place", sorted(PROVIDERS))
@pytest.mark.parametrize("command", [["lint"], ["test", "--mode", "replay"]])
def test_promptctl_yaml_names_the_place_not_the_secret(
    place: str, command: list[str], tmp_path: Path
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "promptctl.yaml").write_text(f"providers:\n  {PROVIDERS[place]}\n")
    done = invoke(*command, cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "promptctl.yaml:2:" in text and f"providers.openai.{place}" in text
    assert "the value is not shown" in text
    assert SECRET not in text and SECRET[:12] not in text


@pytest.mark.parametrize(
    ("override", "place"),
    [
        ({"api_key_env": SECRET}, "api_key_env"),
        ({"headers": {"X-Token": f"{SECRET}\r\nX-Evil: 1"}}, "headers.X-Token"),
    ],
)
def test_a_runtime_override_names_the_place_not_the_secret(
    override: dict[str, object], place: str, tmp_path: Path
) -> None:
    from promptctl.promptfile.model import DEFAULT_PROVIDERS

    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], {"openai": DEFAULT_PROVIDERS["openai"]})
    with pytest.raises(BundleError) as info:
        Runtime.load(path, providers={"openai": override}, ledger=False)
    assert f"providers override for 'openai': {place}: " in info.value.message
    assert SECRET not in str(info.value) and SECRET not in (info.value.hint or "")


def test_a_bundle_provider_names_the_place_not_the_secret(tmp_path: Path) -> None:
    from promptctl.bundle.format import serialize
    from promptctl.promptfile.model import DEFAULT_PROVIDERS

    path = tmp_path / "b.bundle.json"
    write_bundle(path, [prompt()], {"openai": DEFAULT_PROVIDERS["openai"]})
    doc = json.loads(path.read_text())
    doc["providers"]["openai"]["headers"] = {"X-Token": f"{SECRET}\n"}
    doc["manifest"]["digest"] = compute_digest(doc)
    path.write_bytes(serialize(doc))
    with pytest.raises(BundleError) as info:
        Runtime.load(path, ledger=False)
    assert "headers.X-Token" in info.value.message and SECRET not in str(info.value)
