"""The event-built YAML document (promptfile/yaml_events.py) against the composed and
walked one (yaml_parse): the same data, positions and errors, or it declines."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptctl.errors import PromptFileError
from promptctl.promptfile import yaml_parse
from promptctl.promptfile.safe_io import MAX_DEPTH

REPO = Path(__file__).resolve().parents[2]
Outcome = tuple[Any, ...]


def _outcome(text: str) -> Outcome:
    """What `parse` gives: the document's fields, or the error's message, place and hint."""
    try:
        doc = yaml_parse.parse(text, Path("p.yaml"))
    except PromptFileError as exc:
        return ("error", exc.message, exc.location, exc.hint)
    return (doc.data, doc.values, doc.keys, doc.duplicates, doc.block_scalars)


def _both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Outcome, bool]:
    """(the outcome with events, the outcome composed, whether the events built it)."""
    real = yaml_parse.build_plain
    built: list[bool] = []

    def spy(*args: Any) -> bool:
        built.append(real(*args))
        return built[-1]

    monkeypatch.setattr(yaml_parse, "build_plain", spy)
    fast = _outcome(text)
    monkeypatch.setattr(yaml_parse, "build_plain", lambda *args: False)
    composed = _outcome(text)
    monkeypatch.setattr(yaml_parse, "build_plain", real)
    return fast, composed, bool(built and built[0])


def _repo_yaml() -> Iterator[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.yaml", "*.yml"], cwd=REPO, capture_output=True, text=True
    ).stdout.split()
    return (REPO / name for name in listed)


def test_every_yaml_file_of_the_repository_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prompt files, configs, the bad-file corpus, CI files: the same outcome either way,
    and the plain ones (most of them) built from the events."""
    files = [p for p in _repo_yaml() if p.is_file()]
    assert len(files) >= 40
    built = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        fast, composed, by_events = _both(text, monkeypatch)
        assert fast == composed, path
        built += by_events
    assert built >= len(files) // 2


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth < 4 and kind < 0.25:
        return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 4 and kind < 0.4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice(
        [
            rng.randint(-(10**6), 10**6),
            rng.random() * 100,
            True,
            False,
            None,
            "",
            "plain words",
            "yes",
            "0o17",
            "1e3",
            "null",
            "~",
            "a: b",
            "{{ question }}",
            "- item",
            "# not a comment",
            "line one\nline two\n",
            "tab\there",
            "ünïcödé ✓",
            "'quoted'",
            '"double"',
            "trailing space ",
        ]
    )


def _random_key(rng: random.Random) -> str:
    return rng.choice(["name", "vars", "assert", "type", "value", "a/b", "t~x", "key with space"])


@pytest.mark.parametrize("seed", range(40))
def test_generated_plain_documents_read_the_same_and_are_built_from_events(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    doc = {"version": "1.0.0", "tests": [_random_value(rng, 0) for _ in range(8)]}
    style = [None, True, False][seed % 3]  # block and flow mixed, all flow, all block
    text = yaml.safe_dump(doc, default_flow_style=style, allow_unicode=seed % 2 == 0)
    fast, composed, by_events = _both(text, monkeypatch)
    assert fast == composed
    assert by_events
    assert fast[0] == doc  # and it is the data that was written


DECLINED = {
    "anchor and alias": "a: &x {b: 1}\nc: *x\n",
    "merge key": "base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n",
    "explicit tag": "a: !!str 12\n",
    "local tag": "a: !thing 12\n",
    "explicit tag on a mapping": "a: !!map {b: 1}\n",
    "number key": "1: one\n",
    "boolean key": "yes: true\n",
    "null key": "~: x\n",
    "complex key": "? [a, b]\n: c\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "empty stream": "# only a comment\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "bad value, then a syntax error": "a: 2024-13-45\nb: [1,\n",
    "bad value": "when: 2024-13-45\n",
    "not a number": "x: .nan\n",
    "huge integer": "n: " + "9" * 5000 + "\n",
    "tab indentation": "a:\n\tb: 1\n",
    "too deep": "a: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n",
    "unclosed quote": "a: 'open\n",
}


PLAIN = {
    "a scalar document": "just text\n",
    "a number document": "42\n",
    "a list document": "- a\n- 1\n- {b: c}\n",
    "explicit document markers": "---\na: 1\n...\n",
    "an empty explicit document": "---\n",
    "block scalars": "a: |\n  one\n  two\nb: >-\n  folded\n  text\nc: [x]\n",
    "quoted keys": "'1': one\n\"yes\": two\n'<<': three\n",
    "non-specific tag": "a: ! 12\nb: ! text\n",
    "deep but allowed": "a: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "\n",
    "key escapes": "a/b: {c~d: 1}\n",
}


@pytest.mark.parametrize(
    ("text", "plain"),
    [(t, False) for t in DECLINED.values()] + [(t, True) for t in PLAIN.values()],
    ids=[f"declined: {k}" for k in DECLINED] + [f"plain: {k}" for k in PLAIN],
)
def test_plain_documents_are_built_from_events_and_the_rest_composed_alike(
    text: str, plain: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain document is built from the events; what they leave to the composer is
    composed and walked as before; either way the same data, positions or error."""
    fast, composed, by_events = _both(text, monkeypatch)
    assert by_events is plain
    assert fast == composed


def test_fuzzed_prompt_files_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """tools/fuzz_inputs.py's mutations of the example prompts (huge numbers, deep
    nesting, NaN, tags, keys of every kind, expanded into hostile YAML text): the same
    data or the same error either way, and both paths taken."""
    import sys

    monkeypatch.syspath_prepend(str(REPO / "tools"))
    import fuzz_inputs

    files = sorted((REPO / "prompts").rglob("*.yaml"))
    seeds = {f: yaml.safe_load(f.read_text()) for f in files}
    rng = random.Random(1313)
    taken = {True: 0, False: 0}
    for _ in range(300):
        data = fuzz_inputs.mutate(seeds[rng.choice(files)], rng)
        text = fuzz_inputs.expand(yaml.safe_dump(data, allow_unicode=True), yaml_text=True)
        fast, composed, by_events = _both(text, monkeypatch)
        assert fast == composed, text[:400]
        taken[by_events] += 1
    assert taken[True] > 50 and taken[False] > 20
    del sys.modules["fuzz_inputs"]


# Hostile YAML text (what a data-level fuzzer cannot write: merge keys bringing complex
# keys, anchors and aliases, tags, flow and block styles mixed, bad indentation).
HOSTILE_SCALARS = [
    "a", "'q'", '"d\\n"', "1", "-2", "0x1F", "1.5", ".inf", "-.nan", "true", "No", "~", "",
    "2024-01-02", "2024-13-45", "!!str 5", "!x y", "&a v", "*a", "|\n  block\n",
    ">-\n  fold\n", "{", "[", "a: b", "'", "#c", "é", "<<", "? k", "- x", "@x", "`x", "%x",
    "'multi\n  line'", "12:30", "1_000", "+1", "0o7", "=", "\t", "!!bool maybe",
    "!!binary x", "!!set {a}", "!!omap [a: 1]", "!!float x", "!!timestamp 2024-02-30",
]  # fmt: skip
HOSTILE_KEYS = [
    "a", "b", "c", "'k'", '"1"', "1", "yes", "<<", "~", "a/b", "t~x", "? q", "[x]",
    "{y: 1}", "&k a", "*k", "!!str z", "",
]  # fmt: skip
PLAIN_SCALARS = [
    "a", "'q'", '"d\\n"', "1", "-2", "1.5", "true", "No", "~", "", "é", "|\n  block\n",
    ">-\n  fold\n", "12:30", "0o7", "1e3", '""', "''",
]  # fmt: skip
PLAIN_KEYS = ["a", "b", "c", "'k'", '"1"', "a/b", "t~x", "x y"]


def _hostile_text(rng: random.Random, scalars: list[str], keys: list[str]) -> str:
    def value(depth: int, indent: int) -> str:
        roll, pad = rng.random(), " " * indent
        if depth > 3 or roll < 0.4:
            return " " + rng.choice(scalars)
        if roll < 0.55:
            return " [" + ", ".join(rng.choice(scalars) for _ in range(rng.randint(0, 3))) + "]"
        if roll < 0.65:
            pairs = (f"{rng.choice(keys)}: {rng.choice(scalars)}" for _ in range(rng.randint(0, 3)))
            return " {" + ", ".join(pairs) + "}"
        if roll < 0.82:
            step = rng.choice([2, 2, 2, 4, 0, 1])
            return "".join(
                f"\n{pad}{rng.choice(keys)}:" + value(depth + 1, indent + step)
                for _ in range(rng.randint(1, 3))
            )
        return "".join(f"\n{pad}-" + value(depth + 1, indent + 2) for _ in range(rng.randint(1, 3)))

    text = "".join(f"{rng.choice(keys)}:" + value(0, 2) + "\n" for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.1:
        text = "---\n" + text
    if rng.random() < 0.05:
        text += "---\nx: 1\n"
    return text


@pytest.mark.parametrize(
    ("vocabulary", "scalars", "keys"),
    [("hostile", HOSTILE_SCALARS, HOSTILE_KEYS), ("plain", PLAIN_SCALARS, PLAIN_KEYS)],
)
def test_generated_yaml_text_reads_the_same_and_never_raises_anything_else(
    vocabulary: str, scalars: list[str], keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,500 generated texts each: the same data, positions or error either way, and no
    exception but PromptFileError (`_outcome` lets any other one fail the test). It
    found `<<: {[q]: 1}` and `!!bool maybe` ending `promptctl lint` in a traceback (seed 4
    fails on the code before either fix)."""
    rng = random.Random(4 if vocabulary == "hostile" else 14)
    built = 0
    for _ in range(1500):
        text = _hostile_text(rng, scalars, keys)
        fast, composed, by_events = _both(text, monkeypatch)
        assert fast == composed, text
        built += by_events
    assert built > (30 if vocabulary == "hostile" else 500)
