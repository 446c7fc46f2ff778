"""Every file under tests/promptfile/bad/prompts/ is one mistake.

Its first line says what lint must report: `# expect: CODE @LINE: message`. The test
asserts the code, the exact line and the message text (and hint, if given).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from promptctl.lint import lint
from promptctl.promptfile.model import Project

BAD = Path(__file__).parent / "bad"
HEADER = re.compile(r"^# expect: (?P<code>PC\d{3}) @(?P<line>\d+): (?P<message>.+)$")
FILES = sorted(p for p in (BAD / "prompts").glob("*.yaml"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus copied out of this repository: lint's tracked-key check (PC030) would
    otherwise grep the whole promptctl repository for every file (~40 ms of git each);
    outside a work tree it is one `git rev-parse`."""
    copy = tmp_path_factory.mktemp("bad") / "bad"
    shutil.copytree(BAD, copy)
    return copy


def _project(root: Path) -> Project:
    return Project(root=root, prompts_dir=root / "prompts", evals_dir=root / "evals")


def test_corpus_has_at_least_25_distinct_mistakes() -> None:
    headers = [HEADER.match(p.read_text().splitlines()[0]) for p in FILES]
    codes_and_messages = {m.group(0) for m in headers if m}
    assert len(codes_and_messages) >= 25


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_file_reports_message_and_line(path: Path, corpus: Path) -> None:
    match = HEADER.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} lacks an `# expect:` header"
    path = corpus / path.relative_to(BAD)
    report = lint(_project(corpus), [path], check_versions=False)
    found = [
        (d.code, d.location.line if d.location else None, str(d).split(f"{d.code}: ", 1)[1])
        for d in report.diagnostics
        if d.location is not None and d.location.path == path
    ]
    expected = (match["code"], int(match["line"]))
    hits = [f for f in found if (f[0], f[1]) == expected and match["message"] in f[2]]
    assert hits, f"expected {expected} {match['message']!r}, got {found}"
    assert report.exit_code() == 1
