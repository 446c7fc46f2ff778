import json
import multiprocessing
import os
from pathlib import Path

import pytest

from bundle.helpers import composer, make_prompt, publish_worker
from promptctl.bundle.format import build_bundle, serialize
from promptctl.bundle.release import ReleaseDir, atomic_write, bundle_file_name
from promptctl.bundle.signing import verify_bundle
from promptctl.errors import BundleError, PublishError
from promptctl.promptfile.model import DEFAULT_PROVIDERS


def _doc(  # type: ignore[no-untyped-def]
    prompt_id: str = "support/triage",
    version: str = "1.3.0",
    template: str = "T {{ t }}",
    sequence: int = 1,
):
    return build_bundle(
        [make_prompt(prompt_id, version, template=template)],
        providers=DEFAULT_PROVIDERS,
        eval_summaries={},
        git_commit="c1",
        created_from="test",
        sequence=sequence,
    )


def _publish(releases: ReleaseDir, doc):  # type: ignore[no-untyped-def]
    """Publish a ready document (its sequence as built)."""
    return releases.publish(lambda head: (doc, serialize(doc)))


def _next(releases: ReleaseDir, *args):  # type: ignore[no-untyped-def]
    """Publish `_doc(*args)` with the sequence the directory hands out."""
    return releases.publish(composer(lambda seq, _carried: _doc(*args, sequence=seq)))


def test_publish_writes_bundle_index_and_latest(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path / "releases")
    doc = _doc()
    result = _publish(releases, doc)
    digest = doc["manifest"]["digest"]
    assert result.path.name == f"bundle-000001-{digest.removeprefix('sha256:')[:12]}.bundle.json"
    assert result.sequence == 1
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
    _publish(releases, doc)
    again = _publish(releases, doc)
    assert again.already_present and again.new_versions == ()
    assert json.loads(releases.index_path.read_text())["bundles"] == [again.path.name]


def test_changed_content_under_same_version_is_refused(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path)
    first = _doc()
    _publish(releases, first)
    changed = _doc(template="T {{ t }} changed", sequence=2)
    with pytest.raises(PublishError) as info:
        _publish(releases, changed)
    old_hash = first["prompts"][0]["content_hash"]
    assert info.value.reasons == [
        f"support/triage@1.3.0 is already published with {old_hash} "
        f"(in {bundle_file_name(first['manifest']['digest'], 1)}); bump the version"
    ]
    assert not (tmp_path / bundle_file_name(changed["manifest"]["digest"], 2)).exists()
    bumped = _next(releases, "support/triage", "1.3.1", "T {{ t }} changed")
    assert bumped.new_versions == ("support/triage@1.3.1",) and bumped.sequence == 2
    assert releases.latest() == bumped.path


def test_a_release_must_increase_the_sequence(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path)
    _publish(releases, _doc(sequence=3))
    stale = _doc("faq/answer", "1.0.0", sequence=3)
    with pytest.raises(BundleError, match="release 3 is not newer than release 3"):
        _publish(releases, stale)
    assert _next(releases, "faq/answer", "1.0.0").sequence == 4


def test_head_is_the_highest_sequence_and_must_verify(tmp_path: Path) -> None:
    releases = ReleaseDir(tmp_path)
    assert releases.head() is None
    _next(releases)
    second = _next(releases, "faq/answer", "1.0.0")
    head = releases.head()
    assert head is not None and head.path == second.path
    assert (head.sequence, head.next_sequence) == (2, 3)
    # a stray file claiming a higher number raises the next sequence past it, but it
    # must verify: publish carries its prompts over
    (tmp_path / "bundle-000009-0123456789ab.bundle.json").write_bytes(b"{}")
    with pytest.raises(PublishError, match=r"newest release .*000009.* does not verify"):
        releases.head()
    # an old release renamed to look newest is not built on either
    renamed = tmp_path / "bundle-000009-0123456789ab.bundle.json"
    renamed.write_bytes(second.path.read_bytes())
    with pytest.raises(PublishError, match="file name says release 9, its manifest 2"):
        releases.head()


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
    _next(releases)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        _next(releases, "faq/answer", "1.0.0")
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
    # each publish built on the one before: distinct sequences 1..3, and the newest
    # release holds every prompt (none lost to the race)
    assert [name.split("-")[1] for name in ok_files] == ["000001", "000002", "000003"]
    latest = (tmp_path / "latest").read_text().strip()
    assert latest == ok_files[-1]
    newest = verify_bundle((tmp_path / latest).read_bytes(), public_key=None)
    assert newest.sequence == 3
    assert sorted(p.id for p in newest.prompts) == ["a/one", "b/two", "c/same"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
