"""Where a ledger lives: a SQLite file or a postgresql:// URL, however it is named
(`ledger:` in promptctl.yaml, `--ledger`, `Runtime.load(ledger=)`, PROMPTCTL_LEDGER).

Any other URL used to be taken as a path: `mysql://host/db` quietly made a folder named
`mysql:` holding a SQLite file `db`, and the calls were recorded there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakes.cli import run
from promptctl.errors import ConfigError
from promptctl.promptfile.project import is_ledger_url, load_project
from promptctl.runtime._deployment import open_ledger


def test_urls_and_paths() -> None:
    assert is_ledger_url("postgresql://app@db/ledger") and is_ledger_url("postgres://db/l")
    assert not is_ledger_url("ledger.sqlite") and not is_ledger_url("/var/lib/app/l.sqlite")
    assert not is_ledger_url(r"C:\ledgers\l.sqlite")  # a drive letter is no scheme
    with pytest.raises(ConfigError, match=r"ledger mysql://… is not a ledger") as info:
        is_ledger_url("mysql://app:hunter2@db/ledger")
    assert "hunter2" not in str(info.value)


def test_promptctl_yaml_points_at_the_line(tmp_path: Path) -> None:
    (tmp_path / "promptctl.yaml").write_text("prompts: prompts\nledger: redis://cache/0\n")
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "promptctl.yaml")
    assert str(info.value.location).endswith("promptctl.yaml:2:9")
    assert "redis://… is not a ledger" in info.value.message


def test_the_runtime_and_the_cli_refuse_it_and_make_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="mysql://… is not a ledger"):
        open_ledger(None, {"PROMPTCTL_LEDGER": "mysql://db/ledger"})
    code, _, err = run(["costs", "--ledger", "sqlite://ledger.db"], monkeypatch, capsys)
    assert code == 2 and "sqlite://… is not a ledger" in err
    assert os.listdir(tmp_path) == []
