import json
import multiprocessing
import os
from pathlib import Path

import pytest

from bundle.helpers import make_prompt, publish_worker
from promptctl.bundle.format import build_bundle, serialize
from promptctl.bundle.release import ReleaseDir, atomic_write, bundle_file_name
from promptctl.errors import PublishError
from promptctl.promptfile.model import DEFAULT_PROVIDERS


def _doc(prompt_id: str = "support/triage", version: str = "1.3.0", template: str = "T {{ t }}"):  # type: ignore[no-untyped-def]
    return build_bundle(
        [make_prompt(prompt_id, version, template=template)],
        providers=DEFAULT_PROVIDERS,
        eval_summaries={},
        git_commit="c1",
        created_from="test",
    )


def test_publish_writes_bundle_index_and_latest(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path / "releases")
    doc = _doc()
    result = releases.publish(doc, serialize(doc))
    digest = doc["manifest"]["digest"]
    assert result.path.name == f"bundle-{digest.removeprefix('sha256:')[:12]}.bundle.json"
    assert result.path.read_bytes() == serialize(doc)
    assert result.new_versions == ("support/triage@1.3.0",)
    index = json.loads(releases.index_path.read_text())
    assert index["published"]["support/triage@1.3.0"] == {
        "content_hash": doc["prompts"][0]["content_hash"],
        "bundle": result.path.name,
    }
    assert releases.latest() == result.path


def test_republishing_same_bundle_is_idempotent(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path)
    doc = _doc()
    releases.publish(doc, serialize(doc))
    again = releases.publish(doc, serialize(doc))
    assert again.already_present and again.new_versions == ()
    assert json.loads(releases.index_path.read_text())["bundles"] == [again.path.name]


def test_changed_content_under_same_version_is_refused(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path)
    first = _doc()
    releases.publish(first, serialize(first))
    changed = _doc(template="T {{ t }} changed")
    with pytest.raises(PublishError) as info:
        releases.publish(changed, serialize(changed))
    old_hash = first["prompts"][0]["content_hash"]
    assert info.value.reasons == [
        f"support/triage@1.3.0 is already published with {old_hash} "
        f"(in {bundle_file_name(first['manifest']['digest'])}); bump the version"
    ]
    assert not (tmp_path / bundle_file_name(changed["manifest"]["digest"])).exists()
    bumped = _doc(version="1.3.1", template="T {{ t }} changed")
    assert releases.publish(bumped, serialize(bumped)).new_versions == ("support/triage@1.3.1",)
    assert releases.latest() == tmp_path / bundle_file_name(bumped["manifest"]["digest"])


def test_crash_during_replace_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "latest"
    target.write_bytes(b"old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(target, b"new content\n")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]


def test_crash_mid_publish_keeps_index_and_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    releases = ReleaseDir(tmp_path)
    first = _doc()
    releases.publish(first, serialize(first))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("crash")))
    second = _doc("faq/answer", "1.0.0")
    with pytest.raises(OSError):
        releases.publish(second, serialize(second))
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before


def test_lock_serializes_a_second_publisher(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    releases = ReleaseDir(tmp_path)
    with releases.lock():
        child = ctx.Process(target=publish_worker, args=(str(tmp_path), "a/one", "x", start, out))
        child.start()
        start.set()
        with pytest.raises(Exception):  # noqa: B017 - queue.Empty: the child must still wait
            out.get(timeout=1.0)
        assert not releases.index_path.exists()
    assert out.get(timeout=20)[0] == "ok"
    child.join(10)
    assert "a/one@1.0.0" in releases.read_index()["published"]


def test_racing_publishes_keep_index_consistent(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    jobs = [("a/one", "x"), ("b/two", "y"), ("c/same", "first"), ("c/same", "second")]
    procs = [
        ctx.Process(target=publish_worker, args=(str(tmp_path), pid, tpl, start, out))
        for pid, tpl in jobs
    ]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    outcomes = sorted((r[0], r[1]) for r in results)
    assert outcomes == [("ok", "a/one"), ("ok", "b/two"), ("ok", "c/same"), ("refused", "c/same")]
    index = ReleaseDir(tmp_path).read_index()
    assert sorted(index["published"]) == ["a/one@1.0.0", "b/two@1.0.0", "c/same@1.0.0"]
    ok_files = sorted(r[3] for r in results if r[0] == "ok")
    assert sorted(index["bundles"]) == ok_files
    assert all((tmp_path / name).exists() for name in ok_files)
    assert (tmp_path / "latest").read_text().strip() in ok_files
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
