"""Release directories: the newest release is served, `latest` cannot roll it back,
an explicit pin can, and a reload (or the watch) never goes backwards."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from fakes.llm_server import FakeLLM, fake_providers
from promptctl.bundle.format import build_bundle, serialize
from promptctl.bundle.release import ReleaseDir, ReleaseHead
from promptctl.bundle.signing import sign
from promptctl.errors import BundleError
from promptctl.promptfile.model import Prompt, ProviderSettings
from promptctl.runtime import Runtime

from .helpers import prompt, write_bundle


@pytest.fixture
def providers(fake_llm: FakeLLM) -> dict[str, ProviderSettings]:
    return fake_providers(fake_llm)


def _release(
    directory: Path,
    prompts: Sequence[Prompt],
    providers: dict[str, ProviderSettings],
    key: bytes | None,
) -> Path:
    """What `promptctl publish` writes: the next sequence, signed, `latest` moved."""

    def compose(head: ReleaseHead | None) -> tuple[dict[str, object], bytes]:
        doc = build_bundle(
            prompts,
            providers=providers,
            eval_summaries={},
            git_commit=None,
            created_from="test",
            sequence=head.next_sequence if head is not None else 1,
        )
        if key is not None:
            doc = sign(doc, key)
        return doc, serialize(doc)

    return ReleaseDir(directory).publish(compose).path


def _point_latest(directory: Path, name: str) -> None:
    latest = directory / "latest"
    old = latest.stat().st_mtime_ns if latest.exists() else 0
    latest.write_text(f"{name}\n")
    os.utime(latest, ns=(old + 2_000_000_000, old + 2_000_000_000))  # a visible change


def test_latest_rolled_back_to_an_older_signed_release_is_refused(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    releases = tmp_path / "releases"
    one = _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    two = _release(
        releases, [prompt(version="1.1.0", template="v2 {{ ticket }}")], providers, keypair[0]
    )
    with Runtime.load(releases, public_key=keypair[1]) as rt:
        assert rt.bundle.path == two and rt.bundle.sequence == 2
    _point_latest(releases, one.name)  # the attack: an older, validly signed bundle
    with pytest.raises(BundleError) as info:
        Runtime.load(releases, public_key=keypair[1])
    message = str(info.value)
    assert f"latest names release 1 ({one.name})" in message
    assert f"newer valid release 2 ({two.name})" in message
    assert f"Runtime.load('{one}')" in message  # how to pin it on purpose


def test_an_explicitly_pinned_older_release_loads(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    releases = tmp_path / "releases"
    one = _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    _release(releases, [prompt(version="1.1.0", template="v2 {{ ticket }}")], providers, keypair[0])
    with Runtime.load(one, public_key=keypair[1]) as rt:
        assert rt.bundle.sequence == 1 and rt.bundle.verified
        assert rt.prompt("support/triage").version == "1.0.0"


def test_a_newer_file_that_does_not_verify_cannot_block_the_service(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    releases = tmp_path / "releases"
    _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    two = _release(releases, [prompt(version="1.1.0")], providers, keypair[0])
    # an unsigned "release 5" and junk claiming release 7
    write_bundle(
        releases / "bundle-000005-aaaaaaaaaaaa.bundle.json",
        [prompt(version="9.0.0")],
        providers,
        sequence=5,
    )
    (releases / "bundle-000007-bbbbbbbbbbbb.bundle.json").write_text("{}")
    with Runtime.load(releases, public_key=keypair[1]) as rt:
        assert rt.bundle.path == two
    # without a key the unsigned release 5 is valid, hence newer than `latest`
    with pytest.raises(BundleError, match="newer valid release 5"):
        Runtime.load(releases)


def test_an_old_bundle_renamed_to_look_new_is_refused(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    releases = tmp_path / "releases"
    one = _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    _release(releases, [prompt(version="1.1.0")], providers, keypair[0])
    shutil.copy(one, releases / "bundle-000003-cccccccccccc.bundle.json")
    _point_latest(releases, "bundle-000003-cccccccccccc.bundle.json")
    with pytest.raises(
        BundleError, match="file name says release 3 but its signed manifest says 1"
    ):
        Runtime.load(releases, public_key=keypair[1])


def test_reload_and_watch_never_go_backwards(
    tmp_path: Path,
    providers: dict[str, ProviderSettings],
    keypair: tuple[bytes, Path],
) -> None:
    releases = tmp_path / "releases"
    one = _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    two = _release(
        releases, [prompt(version="2.0.0", template="v2 {{ ticket }}")], providers, keypair[0]
    )
    rt = Runtime.load(releases, public_key=keypair[1], watch=True, watch_interval_s=1.0)
    now = [0.0]
    assert rt._watcher is not None
    rt._watcher.clock = lambda: now[0]
    rt._watcher.next_check = 1.0
    try:
        # the newer release disappears and `latest` goes back: nothing in the directory
        # is newer than release 1 any more, but release 2 is in service
        two.unlink()
        _point_latest(releases, one.name)
        now[0] = 5.0
        assert rt.render("support/triage", ticket="a")[1]["content"] == "v2 a"
        assert rt.bundle.sequence == 2
        assert "refusing to replace release 2" in str(rt.last_reload_error)
        with pytest.raises(BundleError, match="older release 1"):
            rt.reload()
        # a genuinely newer release is picked up by the watch
        three = _release(
            releases, [prompt(version="3.0.0", template="v3 {{ ticket }}")], providers, keypair[0]
        )
        os.utime(releases / "latest", ns=(10**19, 10**19))
        now[0] = 10.0
        assert rt.render("support/triage", ticket="a")[1]["content"] == "v3 a"
        assert rt.bundle.path == three and rt.bundle.sequence == 3
    finally:
        rt.close()


def test_a_bundle_from_before_sequences_still_loads_as_release_0(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    releases = tmp_path / "releases"
    releases.mkdir()
    legacy = releases / "bundle-0123456789ab.bundle.json"
    write_bundle(legacy, [prompt(version="1.0.0")], providers, private_key=keypair[0])
    _point_latest(releases, legacy.name)
    with Runtime.load(releases, public_key=keypair[1]) as rt:
        assert rt.bundle.sequence == 0 and rt.prompt("support/triage").version == "1.0.0"
    new = _release(releases, [prompt(version="1.1.0")], providers, keypair[0])
    assert new.name.startswith("bundle-000001-")
    _point_latest(releases, legacy.name)
    with pytest.raises(BundleError, match="newer valid release 1"):
        Runtime.load(releases, public_key=keypair[1])


def test_a_pinned_file_reloads_forward_only(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    path = tmp_path / "pinned.bundle.json"
    write_bundle(path, [prompt(version="2.0.0")], providers, private_key=keypair[0], sequence=2)
    with Runtime.load(path, public_key=keypair[1]) as rt:
        other = [prompt(version="2.0.1", template="other {{ ticket }}")]
        write_bundle(path, other, providers, private_key=keypair[0], sequence=2)
        with pytest.raises(BundleError, match="different bundle with the same release number 2"):
            rt.reload()
        write_bundle(path, other, providers, private_key=keypair[0], sequence=1)
        with pytest.raises(BundleError, match="older release 1"):
            rt.reload()
        assert rt.prompt("support/triage").version == "2.0.0"
        write_bundle(path, other, providers, private_key=keypair[0], sequence=3)
        assert rt.reload() is True
        assert rt.bundle.sequence == 3 and rt.prompt("support/triage").version == "2.0.1"


def test_a_latest_pointer_that_is_not_a_bundle_name_is_not_quoted(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    releases.mkdir()
    for body in ("API_KEY=" + "s" * 5000, "sk-live-0123456789abcdef"):
        secret = tmp_path / "secret.txt"
        secret.write_text(body + "\n")
        (releases / "latest").unlink(missing_ok=True)
        (releases / "latest").symlink_to(secret)
        with pytest.raises(BundleError) as info:
            Runtime.load(releases)
        message = str(info.value)
        assert "does not name a bundle file" in message and "(not shown)" in message
        assert "sss" not in message and "sk-live" not in message


def test_a_fifo_claiming_a_newer_release_does_not_hang_the_load(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    releases = tmp_path / "releases"
    one = _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    os.mkfifo(releases / "bundle-000002-dddddddddddd.bundle.json")
    with Runtime.load(releases, public_key=keypair[1]) as rt:  # skipped, not read
        assert rt.bundle.path == one
    _point_latest(releases, "bundle-000002-dddddddddddd.bundle.json")
    with pytest.raises(BundleError, match="not a regular file"):
        Runtime.load(releases, public_key=keypair[1])


def test_a_load_during_a_publish_waits_for_latest_instead_of_refusing(
    tmp_path: Path, providers: dict[str, ProviderSettings], keypair: tuple[bytes, Path]
) -> None:
    import threading
    import time

    from promptctl.bundle.history import bundle_file_name

    releases = tmp_path / "releases"
    _release(releases, [prompt(version="1.0.0")], providers, keypair[0])
    doc = sign(
        build_bundle(
            [prompt(version="2.0.0")],
            providers=providers,
            eval_summaries={},
            git_commit=None,
            created_from="test",
            sequence=2,
        ),
        keypair[0],
    )
    name = bundle_file_name(doc["manifest"]["digest"], 2)
    loaded: list[Runtime | BaseException] = []

    def load() -> None:
        try:
            loaded.append(Runtime.load(releases, public_key=keypair[1]))
        except BaseException as exc:  # handed to the test thread
            loaded.append(exc)

    with ReleaseDir(releases).lock():  # a publish between writing the bundle and `latest`
        (releases / name).write_bytes(serialize(doc))
        reader = threading.Thread(target=load)
        reader.start()
        time.sleep(0.3)
        assert reader.is_alive() and not loaded  # waiting for the publish, not refusing
        (releases / "latest").write_text(f"{name}\n")
    reader.join(10)
    rt = loaded[0]
    assert isinstance(rt, Runtime), rt
    assert rt.bundle.sequence == 2
    rt.close()
