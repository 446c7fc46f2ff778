"""`shared_state:` in promptctl.yaml, PROMPTCTL_SHARED_STATE, and lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promptctl.errors import ConfigError
from promptctl.promptfile.project import load_project
from promptctl.providers.shared_state import redact_url, shared_state_from


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "promptctl.yaml").write_text(text)
    return tmp_path / "promptctl.yaml"


def test_shared_state_is_read_from_promptctl_yaml(tmp_path: Path):
    root = _project(tmp_path, "shared_state: redis://cache.internal:6379/2\n")
    assert load_project(root).shared_state == "redis://cache.internal:6379/2"


def test_a_password_in_promptctl_yaml_is_refused_without_echoing_it(tmp_path: Path):
    root = _project(tmp_path, "shared_state: redis://:hunter2secret@cache:6379/0\n")
    with pytest.raises(ConfigError) as err:
        load_project(root)
    text = str(err.value) + (err.value.hint or "")
    assert "hunter2secret" not in text
    assert "PROMPTCTL_SHARED_STATE" in text and "promptctl.yaml:1:" in str(err.value.location)


def test_a_non_redis_url_is_a_schema_error(tmp_path: Path):
    root = _project(tmp_path, "shared_state: memcached://cache:11211\n")
    with pytest.raises(ConfigError, match="shared_state"):
        load_project(root)


def test_the_environment_overrides_the_file_and_passwords_are_redacted():
    env = {"PROMPTCTL_SHARED_STATE": "redis://:s3cr3t@127.0.0.1:1/0"}
    state = shared_state_from("redis://127.0.0.1:2/0", env)
    assert state is not None and state.url == "redis://:***@127.0.0.1:1/0"
    assert shared_state_from(None, {}) is None
    with pytest.raises(ConfigError) as err:
        shared_state_from("http://user:pw123@x/", {})
    assert "pw123" not in str(err.value)
    assert redact_url("postgresql://app:pw@db:5432/x") == "postgresql://app:***@db:5432/x"


def test_runtime_import_and_a_plain_run_load_no_fleet_driver():
    code = (
        "import sys, promptctl.runtime, promptctl.providers.gateway\n"
        "heavy = [m for m in ('redis', 'psycopg', 'opentelemetry') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tpm_travels_in_the_bundle_and_is_absent_when_unset(tmp_path: Path, fake_llm: Any):
    import dataclasses

    from fakes.llm_server import fake_providers
    from promptctl.runtime import Runtime
    from runtime.helpers import prompt, write_bundle

    providers = fake_providers(fake_llm)
    limited = {"openai": dataclasses.replace(providers["openai"], rpm=60, tpm=90_000)}
    data = write_bundle(tmp_path / "a.bundle.json", [prompt()], limited)
    plain = write_bundle(tmp_path / "b.bundle.json", [prompt()], {"openai": providers["openai"]})
    assert b'"tpm"' in data and b'"tpm"' not in plain  # older bundles keep their bytes
    with Runtime.load(tmp_path / "a.bundle.json", ledger=False, shared_state=False) as rt:
        assert rt.bundle.providers["openai"].tpm == 90_000
