"""Hostile project trees through the real CLI: a clean error or neutralised output.

Each case of `hostile_trees.CASES` is built in tmp_path and run through `promptctl`
(in-process, or in a fresh process with a timeout where the bug was a hang or a memory
bomb: a fork of one pre-loaded helper, fakes/forkrun.py). It must exit with the expected
code, say what is wrong where (file:line for lint findings, which are read from
`--format json`), never print a traceback, and never show what lies outside the project.
The other tests here exercise the same guards below the CLI: git-stored symlinks, the
runtime's `latest` pointer, the regex deadline.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.forkrun import ForkRunner, Hung
from fakes.llm_server import FakeLLM
from fakes.prompt_repo import git
from promptctl.errors import BundleError
from promptctl.promptfile import regex_safety
from promptctl.promptfile.gitsource import GitTreeSource
from promptctl.promptfile.regex_safety import RegexTimeout, bounded_search, catastrophic
from promptctl.promptfile.safe_io import UnsafeFileError, excerpt, read_file
from security.hostile_trees import CANARY, CASES, Hostile, prompt_yaml

TIMEOUT_S = 60


def _lint_lines(out: str) -> str:
    """`lint --format json` as `file:line:column: CODE message (hint)` lines."""
    try:
        doc = json.loads(out)
    except ValueError:
        return out
    if not isinstance(doc, dict) or "diagnostics" not in doc:
        return out
    return "\n".join(
        f"{d['file']}:{d['line']}:{d['column']}: {d['code']} {d['message']} ({d.get('hint')})"
        for d in doc["diagnostics"]
    )


@pytest.fixture(scope="module")
def forked() -> Iterator[ForkRunner]:
    """The helper whose forks run the subprocess cases; the canary is in its exec-time
    environment, which is what /proc/self/environ shows every child."""
    runner = ForkRunner(env={**os.environ, "PROMPTCTL_HOSTILE": CANARY})
    yield runner
    runner.close()


def _subprocess(
    forked: ForkRunner,
    args: list[str],
    root: Path,
    env: dict[str, str],
    regex_timeout_s: float | None = None,
) -> tuple[int, str, str]:
    try:
        return forked.run(
            args,
            cwd=root,
            env={**os.environ, **env, "PROMPTCTL_HOSTILE": CANARY},
            timeout=TIMEOUT_S,
            regex_timeout_s=regex_timeout_s,
        )
    except Hung:
        pytest.fail(f"promptctl {' '.join(args)} hung for {TIMEOUT_S}s")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_tree_is_refused_cleanly(
    case: Hostile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    case.build(root, outside)
    args = [*case.args, "--format", "json"] if case.args[0] == "lint" else list(case.args)
    env = dict(case.env)
    if case.needs_llm:
        fake: FakeLLM = request.getfixturevalue("fake_llm")
        fake.reply("a" * 40 + "b")
        with (root / "promptctl.yaml").open("a", encoding="utf-8") as fh:
            fh.write(
                "providers:\n"
                f"  openai: {{kind: openai, base_url: '{fake.openai_base}', max_retries: 0}}\n"
            )
        env["OPENAI_API_KEY"] = "sk-test-hostile-0123456789"
    if case.subprocess:
        started = time.monotonic()
        code, out, err = _subprocess(
            request.getfixturevalue("forked"), args, root, env, case.regex_timeout_s
        )
        assert time.monotonic() - started < TIMEOUT_S
    else:
        monkeypatch.chdir(root)
        code, out, err = run(args, monkeypatch, capsys)
    text = _lint_lines(out) + "\n" + err
    assert code == case.exit_code, text
    for expected in case.expect:
        assert expected in text, f"{expected!r} not in:\n{text}"
    for forbidden in case.forbid:
        assert forbidden not in text, f"{forbidden!r} in:\n{text}"


def test_a_forked_call_still_running_at_its_timeout_is_killed(
    forked: ForkRunner, tmp_path: Path
) -> None:
    """The guard behind the cases above: a call over its timeout is stopped and reported
    (no lint run finishes within a millisecond), and the helper serves the next call."""
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "a.yaml").write_text(prompt_yaml())
    env = dict(os.environ)
    with pytest.raises(Hung, match=r"still running after 0\.001s"):
        forked.run(["lint", "--no-version-check"], cwd=tmp_path, env=env, timeout=0.001)
    code, out, err = forked.run(["lint", "--no-version-check"], cwd=tmp_path, env=env, timeout=60)
    assert code == 0, out + err


def test_python_check_outside_is_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`promptctl test` refuses the case; the module outside never runs."""
    (case,) = [c for c in CASES if c.name == "python-check-symlink-outside"]
    root, outside = tmp_path / "project", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    case.build(root, outside)
    monkeypatch.chdir(root)
    code, out, err = run(["test", "--mode", "replay"], monkeypatch, capsys)
    assert code == 2, out + err
    assert "python check" in err and "outside the project" in err
    assert not (outside / "imported.marker").exists()


def test_recording_replaced_by_a_fifo_is_an_error_not_a_hang(
    tmp_path: Path,
    fake_llm: FakeLLM,
    forked: ForkRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recordings are committed: a FIFO in their place makes the case error (exit 3)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "prompts").mkdir()
    (root / "prompts" / "a.yaml").write_text(prompt_yaml())
    (root / "promptctl.yaml").write_text(
        f"providers:\n  openai: {{kind: openai, base_url: '{fake_llm.openai_base}'}}\n"
    )
    fake_llm.reply("hi!")
    monkeypatch.chdir(root)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-hostile-0123456789")
    code, out, err = run(["test", "--mode", "record"], monkeypatch, capsys)
    assert code == 0, out + err
    (recording,) = (root / "evals" / "recordings").rglob("*.json")
    recording.unlink()
    os.mkfifo(recording)
    code, out, err = _subprocess(forked, ["test", "--mode", "replay"], root, {})
    assert code == 3, out + err
    assert "FIFO" in out + err and "Traceback" not in out + err


# --- below the CLI ---------------------------------------------------------------------


def _repo_with_links(root: Path) -> GitTreeSource:
    (root / "prompts" / "_partials").mkdir(parents=True)
    (root / "prompts" / "_partials" / "real.j2").write_text("inside\n")
    os.symlink("real.j2", root / "prompts" / "_partials" / "alias.j2")
    os.symlink("/proc/self/environ", root / "prompts" / "_partials" / "env.j2")
    os.symlink("../../../outside.txt", root / "prompts" / "_partials" / "up.j2")
    os.symlink("../secrets", root / "prompts" / "linkdir")
    (root / "secrets").mkdir()
    (root / "secrets" / "k.txt").write_text("repo file outside the project folder\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "links")
    return GitTreeSource(root, "main")


def test_git_stored_symlinks_are_confined(tmp_path: Path) -> None:
    """The base ref's blobs: an inside link is followed, an outside one refused."""
    source = _repo_with_links(tmp_path)
    partials = tmp_path / "prompts" / "_partials"
    assert source.read_bytes(partials / "alias.j2", root=tmp_path) == b"inside\n"
    for name in ("env.j2", "up.j2"):
        with pytest.raises(UnsafeFileError, match="outside the project"):
            source.read_bytes(partials / name, root=tmp_path)
    project = tmp_path / "prompts"  # a project rooted below the repository
    with pytest.raises(UnsafeFileError, match="outside the project"):
        source.read_bytes(project / "linkdir" / "k.txt", root=project)
    assert source.read_bytes(project / "linkdir" / "k.txt", root=tmp_path).startswith(b"repo")


def test_latest_pointer_to_a_big_file_is_not_quoted(tmp_path: Path) -> None:
    """`latest` symlinked to /etc/passwd-like content: a short excerpt at most."""
    from promptctl.runtime import Runtime

    passwd = tmp_path / "passwd"
    lines = [f"user{i}:x:{1000 + i}:{1000 + i}:User {i}:/home/user{i}:/bin/sh" for i in range(50)]
    passwd.write_text("\n".join(lines) + "\n")
    releases = tmp_path / "releases"
    releases.mkdir()
    os.symlink(passwd, releases / "latest")
    with pytest.raises(BundleError) as caught:
        Runtime.load(releases)
    message = str(caught.value)
    assert "user1:" not in message and "user49" not in message
    assert len(message) < 400, message


def test_read_file_refuses_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(UnsafeFileError, match="FIFO"):
        read_file(fifo, root=tmp_path)
    assert time.monotonic() - started < 5


def test_read_file_caps_size_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 1001)
    assert read_file(path, root=tmp_path, limit=1001) == b"x" * 1001
    with pytest.raises(UnsafeFileError, match="1,001 bytes, over the 1,000-byte limit"):
        read_file(path, root=tmp_path, limit=1000)


def test_excerpt_is_short_and_escaped() -> None:
    text = "\x1b]0;pwned\x07" + "a" * 500 + "\nsecond line"
    quoted = excerpt(text)
    assert "second line" not in quoted and "\x1b" not in quoted
    assert quoted.startswith("'\\x1b]0;pwned\\x07")
    assert quoted.endswith("more characters)")


@pytest.mark.parametrize(
    ("pattern", "nested"),
    [
        ("^(a+)+$", True),
        (r"(\w+\s?)*x", True),
        ("(?:x|y+)+", True),
        ("((ab)*c)*", True),
        ("^a+b+$", False),
        ("(a|b)*", False),
        ("(a{1,3})+", False),
        ("(a++)+", False),
    ],
)
def test_nested_quantifiers_are_detected(pattern: str, nested: bool) -> None:
    assert catastrophic(pattern) is nested


@pytest.mark.parametrize("where", ["main thread", "another thread"])
def test_a_bounded_search_stops_backtracking_in_any_thread(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applications call the runtime from their own threads, where no signal can stop
    `re`: the time limit is the matcher's own. `(a|aa)+` overlaps without nesting a
    repeat (lint's PC110 does not see it), and still stops."""
    monkeypatch.setattr(regex_safety, "REGEX_TIMEOUT_S", 0.05)
    outcome: list[BaseException | None] = []

    def search() -> None:
        try:
            bounded_search("^(a|aa)+$", "a" * 60 + "b")
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    if where == "main thread":
        search()
    else:
        worker = threading.Thread(target=search)
        worker.start()
        worker.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], RegexTimeout)
    assert time.monotonic() - started < 3
    assert bounded_search("^(a|aa)+$", "aaa") is not None  # a match is still a match


def test_symlinks_inside_the_project_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Confinement is not a ban on symlinks: a shared partial and dataset inside are read."""
    root = tmp_path / "project"
    (root / "shared").mkdir(parents=True)
    (root / "shared" / "tone.j2").write_text("Be kind.\n")
    (root / "shared" / "rows.jsonl").write_text('{"name": "r", "vars": {"word": "sea"}}\n')
    (root / "prompts" / "_partials").mkdir(parents=True)
    os.symlink("../../shared/tone.j2", root / "prompts" / "_partials" / "p.j2")
    (root / "evals").mkdir()
    os.symlink("../shared/rows.jsonl", root / "evals" / "rows.jsonl")
    messages = '  - system: "{% include \'p.j2\' %}"\n  - user: "say {{ word }}"\n'
    tests = "  - dataset: ../evals/rows.jsonl\n"
    (root / "prompts" / "a.yaml").write_text(prompt_yaml(messages=messages, tests=tests))
    monkeypatch.chdir(root)
    code, out, err = run(["render", "a", "--test", "r", "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    messages_out = json.loads(out)["messages"]
    assert [m["content"] for m in messages_out] == ["Be kind.", "say sea"]
