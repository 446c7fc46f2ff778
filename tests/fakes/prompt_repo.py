"""A real git repository of prompts in a temporary folder, wired to the fake LLM server.

`make_repo(root, fake)` commits a base on `main` (prompt demo/qa: six tests asking
"say <word>", the fake answers "<word>!") and checks out branch `feature`.
`regress(root)` commits a head that adds "Be terse." to the system message; the fake is
scripted (`answer`) to get "sea" and "sun" wrong whenever it sees that sentence, so the
head regresses exactly those two tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from fakes.llm_server import FakeLLM, Logged

__all__ = ["TESTS", "answer", "git", "make_repo", "regress", "snapshot"]

TESTS = ("sky", "sea", "sun", "tree", "rock", "rain")
BROKEN_BY_HEAD = ("sea", "sun")

PROMPT = """\
id: demo/qa
version: 1.0.0
model:
  use: openai/gpt-4o-mini
  params: {temperature: 0, max_tokens: 20}
inputs:
  word: {type: string}
messages:
  - system: "Repeat the word."
  - user: "say {{ word }}"
tests:
""" + "".join(
    f"  - name: {w}\n    vars: {{word: {w}}}\n    assert:\n      - {{type: contains, value: {w}}}\n"
    for w in TESTS
)


def git(root: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *identity, *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def answer(logged: Logged) -> str:
    """The fake model: repeats the word, except two words under the head's prompt."""
    messages = logged.body["messages"]
    word = str(messages[-1]["content"]).removeprefix("say ")
    if "Be terse." in str(messages[0]["content"]) and word in BROKEN_BY_HEAD:
        return "no."
    return f"{word}!"


def make_repo(root: Path, fake: FakeLLM) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "promptctl.yaml").write_text(
        "providers:\n"
        f"  openai: {{kind: openai, base_url: '{fake.openai_base}',"
        " api_key_env: OPENAI_API_KEY, max_retries: 0, timeout_s: 2}\n"
        "gate: {max_cost_increase_pct: null, min_detectable_drop: 0.5}\n"
    )
    (root / ".gitignore").write_text(".promptctl/\n")
    (root / "prompts" / "demo").mkdir(parents=True)
    (root / "prompts" / "demo" / "qa.yaml").write_text(PROMPT)
    fake.reply(answer)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def regress(root: Path) -> None:
    path = root / "prompts" / "demo" / "qa.yaml"
    path.write_text(path.read_text().replace("Repeat the word.", "Repeat the word. Be terse."))
    git(root, "commit", "-q", "-am", "terser")


def snapshot(root: Path) -> tuple[str, bytes]:
    """What must not change: `git status --porcelain` and the index file's bytes."""
    return git(root, "status", "--porcelain"), (root / ".git" / "index").read_bytes()
