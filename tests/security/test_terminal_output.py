"""Model output, provider errors and file names cannot drive the reader's terminal.

The hostile text renames the window (OSC 0), clears the screen (CSI 2J), fakes a link
(OSC 8), repaints a line (`\\r`), uses a C1 CSI (`\\x9b`) and reverses text (U+202E). Every
one must reach the terminal escaped (`\\x1b`), while rich's own colours still work.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.cli import run
from fakes.llm_server import FakeLLM
from promptctl.report.safe_text import neutralize

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rALL PASSED\x9b31m \u202eevil\x1b]8;;http://evil.test\x07link"
# what may reach a terminal raw: printable text, newline, tab (and rich's SGR colours)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SGR = re.compile(r"\x1b\[[0-9;]*m")

PROMPT = """\
id: demo/echo
version: 1.0.0
model:
  use: openai/gpt-4o-mini
inputs:
  word: {type: string}
messages:
  - user: "say {{ word }}"
tests:
  - name: hostile
    vars: {word: hi}
    assert: [{type: contains, value: "never said"}]
"""


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "prompts" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "demo" / "echo.yaml").write_text(PROMPT)
    (tmp_path / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake_llm.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0}\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-term-0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_neutralize_shows_every_control_but_newline_and_tab() -> None:
    assert neutralize("a\tb\nc") == "a\tb\nc"
    assert neutralize("\x1b[2J\r\x07\x00\x7f\x9b\u202e") == (
        "\\x1b[2J\\r\\x07\\x00\\x7f\\x9b\\u202e"
    )
    assert neutralize(neutralize(HOSTILE)) == neutralize(HOSTILE)
    assert not RAW_CONTROL.search(neutralize("".join(map(chr, range(0x250)))))
    assert neutralize("naïve — 東京 ✓") == "naïve — 東京 ✓"


def test_model_output_reaches_the_terminal_escaped(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.reply(HOSTILE)
    code, out, err = run(["test", "--output", "out.json"], monkeypatch, capsys)
    assert code == 1, err
    assert not RAW_CONTROL.search(out + err), repr(out + err)
    assert "\\x1b]0;pwned\\x07" in out  # shown, so the reader sees the attempt
    (case,) = json.loads((project / "out.json").read_text())["cases"]
    assert case["output"] == HOSTILE  # the results file keeps the exact bytes


def test_a_provider_error_body_reaches_the_terminal_escaped(
    project: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_llm.error(400, message=HOSTILE)
    code, out, err = run(["test"], monkeypatch, capsys)
    assert code == 3, err
    assert not RAW_CONTROL.search(out + err), repr(out + err)
    assert "\\x1b]0;pwned" in out + err


def test_rendered_templates_and_file_names_are_escaped(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["render", "demo/echo", "--var", f"word={HOSTILE}"], monkeypatch, capsys)
    assert code == 0, err
    assert not RAW_CONTROL.search(out + err) and "\\x1b[2J" in out
    bad = project / "prompts" / "demo" / "x\x1b]0;pwned\x07.yaml"
    bad.write_text("id: [unclosed\n")
    code, out, err = run(["lint", "--no-version-check"], monkeypatch, capsys)
    assert code == 1
    assert not RAW_CONTROL.search(out + err) and "x\\x1b]0;pwned" in out + err


def _run_in_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal (rich sees a real terminal)."""
    import pty

    main, child = pty.openpty()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_colours_pass_and_nothing_else_does(project: Path, fake_llm: FakeLLM) -> None:
    fake_llm.reply(HOSTILE)
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-term-0123456789", "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    exe = str(Path(sys.executable).parent / "promptctl")
    code, out = _run_in_a_terminal([exe, "test"], project, env)
    assert code == 1, out
    assert SGR.search(out)  # rich's colours are on
    for raw in ("\x1b]", "\x1b[2J", "\x07", "\x9b", "\u202e"):  # OSC, clear, BEL, C1, RLO
        assert raw not in out, repr(out)
    # after the progress bar (which moves the cursor on purpose) only colours are left
    report = out.split("\x1b[?25h", 1)[1].removeprefix("\r\x1b[1A\x1b[2K")
    rest = SGR.sub("", report).replace("\r\n", "\n")  # the pty turns \n into \r\n
    assert not RAW_CONTROL.search(rest), repr(rest)
    assert "\\x1b]0;pwned" in rest


def test_help_on_a_terminal_is_printed_as_is(tmp_path: Path) -> None:
    # Help is click's plain text (issue 14: no `<bool>` after flags, names never cut at
    # 80 columns); the neutralising streams must pass it through unchanged.
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80"}
    for name in ("NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    exe = str(Path(sys.executable).parent / "promptctl")
    code, out = _run_in_a_terminal([exe, "lint", "--help"], tmp_path, env)
    assert code == 0, out
    assert "\\x1b" not in out and not RAW_CONTROL.search(out.replace("\r\n", "\n"))
    assert "Usage: promptctl lint [OPTIONS]" in out and "  -h, --help" in out


def test_a_stream_that_cannot_take_every_character_gets_question_marks_not_a_traceback(
    project: Path, fake_llm: FakeLLM
) -> None:
    """A Windows console's code page (or a pipe under PYTHONIOENCODING=ascii): the model's
    text ("café ✓ 🛑") and the report's own ✓ and 🛑 used to end in a UnicodeEncodeError."""
    fake_llm.reply("café ✓ 🛑")  # fails its test: the output is printed
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "OPENAI_API_KEY": "sk-test-enc-0123"}
    exe = str(Path(sys.executable).parent / "promptctl")
    test = subprocess.run([exe, "test"], cwd=project, env=env, capture_output=True, timeout=60)
    out, err = test.stdout.decode("cp1252"), test.stderr.decode("cp1252")
    assert test.returncode == 1 and "Traceback" not in out + err, err
    assert "output: café ? ?" in out  # what the stream can take is kept


def test_a_reader_that_goes_away_does_not_change_the_exit_code(
    project: Path, fake_llm: FakeLLM
) -> None:
    """`promptctl test | head -1` under `set -o pipefail`: the output is cut, the verdict
    is not. click answers a broken pipe with exit 1 ("a test failed" here)."""
    fake_llm.reply("I never said that")  # the test passes: exit 0
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-pipe-0123"}
    exe = str(Path(sys.executable).parent / "promptctl")
    proc = subprocess.Popen(
        [exe, "test"], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err and "Exception" not in err
    assert len(list((project / ".promptctl" / "runs").glob("*.json"))) == 1  # still written
