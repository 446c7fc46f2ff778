import dataclasses
import stat
import subprocess
from pathlib import Path

import pytest

from fakes.cli import invoke
from promptctl.bundle.format import build_bundle, serialize
from promptctl.bundle.signing import sign
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.model import DEFAULT_PROVIDERS, MessageTemplate, ModelConfig, Prompt


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return invoke(*args)


def _prompt(pid: str, version: str, text: str) -> Prompt:
    built = Prompt(
        id=pid,
        version=version,
        path=Path(f"prompts/{pid}.yaml"),
        model=ModelConfig(use="openai/gpt-4o-mini"),
        messages=(MessageTemplate(role="user", template=text),),
    )
    return dataclasses.replace(built, content_hash=content_hash(built))


def _write(path: Path, prompts: list[Prompt], key: Path | None = None) -> Path:
    doc = build_bundle(
        prompts,
        providers=DEFAULT_PROVIDERS,
        eval_summaries={},
        git_commit="c0ffee",
        created_from="test",
    )
    if key is not None:
        doc = sign(doc, key.read_bytes())
    path.write_bytes(serialize(doc))
    return path


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    out = run_cli("keygen", str(tmp_path / "keys"))
    assert out.returncode == 0, out.stderr
    private = tmp_path / "keys" / "promptctl-signing.key"
    public = tmp_path / "keys" / "promptctl-signing.pub.pem"
    assert str(private) in out.stdout and str(public) in out.stdout
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    return private, public


def test_verify_signed_ok_and_tampered_fails(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = _write(tmp_path / "a.bundle.json", [_prompt("a", "1.0.0", "hi")], keys[0])
    out = run_cli("bundle", "verify", str(path), "--public-key", str(keys[1]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"ok: {path}: 1 prompt(s), release 0, digest sha256:")
    assert "signed, verified" in out.stdout
    path.write_bytes(path.read_bytes().replace(b'"hi"', b'"ho"'))
    out = run_cli("bundle", "verify", str(path), "--public-key", str(keys[1]))
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: {path}: bundle digest mismatch")
    assert "Traceback" not in out.stderr


def test_verify_unsigned_is_flagged_or_refused(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    path = _write(tmp_path / "u.bundle.json", [_prompt("a", "1.0.0", "hi")])
    assert "UNSIGNED" in run_cli("bundle", "verify", str(path)).stdout
    out = run_cli("bundle", "verify", str(path), "--public-key", str(keys[1]))
    assert out.returncode == 2 and "unsigned but a public key was given" in out.stderr


def test_show_lists_prompts(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.bundle.json", [_prompt("b", "2.0.0", "x"), _prompt("a", "1.0.0", "y")]
    )
    out = run_cli("bundle", "show", str(path))
    assert out.returncode == 0, out.stderr
    assert "UNSIGNED" in out.stdout and "c0ffee" in out.stdout
    lines = [line for line in out.stdout.splitlines() if "openai/gpt-4o-mini" in line]
    assert [line.split()[1] for line in lines] == ["a", "b"]
    assert "2.0.0" in lines[1]


def test_diff_names_added_removed_changed(tmp_path: Path) -> None:
    old = _write(
        tmp_path / "old.bundle.json",
        [
            _prompt("keep", "1.0.0", "k"),
            _prompt("gone", "1.0.0", "g"),
            _prompt("edit", "1.0.0", "e"),
        ],
    )
    new = _write(
        tmp_path / "new.bundle.json",
        [
            _prompt("keep", "1.0.0", "k"),
            _prompt("edit", "1.1.0", "E"),
            _prompt("new", "0.1.0", "n"),
        ],
    )
    out = run_cli("bundle", "diff", str(old), str(new))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("+ new@0.1.0 sha256:")
    assert lines[1].startswith("- gone@1.0.0 sha256:")
    assert lines[2].startswith("~ edit 1.0.0 -> 1.1.0 (sha256:")
    assert lines[-1] == "1 added, 1 removed, 1 changed, 1 unchanged"


def test_truncated_bundle_message(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.bundle.json", [_prompt("a", "1.0.0", "hi")])
    path.write_bytes(path.read_bytes()[:100])
    out = run_cli("bundle", "show", str(path))
    assert out.returncode == 2 and "bundle is truncated" in out.stderr


def test_a_file_that_is_not_a_bundle_is_not_called_truncated(tmp_path: Path) -> None:
    """Any text that is not JSON ended in "truncated … an interrupted copy?"."""
    (tmp_path / "notes.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    out = run_cli("bundle", "verify", str(tmp_path / "notes.txt"))
    assert out.returncode == 2, out.stderr
    assert "not a promptctl bundle: the file is not a JSON object" in out.stderr
    assert "truncated" not in out.stderr


def test_keygen_refuses_to_overwrite(keys: tuple[Path, Path]) -> None:
    out = run_cli("keygen", str(keys[0].parent))
    assert out.returncode == 2 and "already exists" in out.stderr
