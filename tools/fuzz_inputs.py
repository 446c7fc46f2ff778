"""Fuzz what promptctl reads from pull requests, artifacts and providers (seeded, offline).

Run: .venv/bin/python tools/fuzz_inputs.py {prompts,config,datasets,results,recordings,answers,
                                            text,bundles}
                                            [--seed N] [--cases N] [--out DIR]

Each mode mutates real inputs and checks the contract of docs/security.md: bad input is
an exit code 0-3 with a message (never a traceback), or a `ProviderError` for a
provider's answer. A failure prints the mode, the case and the error, and the input is
kept under `--out` (default: a temporary folder, printed) to reproduce it.

- prompts: the repository's prompt files with values swapped for odd ones (None, NaN
  text, huge numbers, wrong types, traversal paths, template syntax); `lint`, `list`,
  `test --mode replay` and `render` on each.
- config: promptctl.yaml with values swapped; `lint`, `list`, `test --mode replay`,
  `render`, `providers` and `costs` on each.
- datasets: the repository's JSONL datasets with one row's values swapped (or an odd
  line added); `lint` and `test --mode replay`.
- results: a results document from `promptctl test --mode replay`, mutated; `diff`,
  `report` and `merge` on it.
- recordings: the committed recordings with mutated responses; `test --mode replay`.
- answers: every wire's whole answer and stream, mutated, through its parser and stream
  decoder (answers come from the fake server of the tests).
- text: hostile YAML text (merge keys, anchors, tags) or Jinja spliced into a line of
  the repository's prompt files; `lint`, `test --mode replay` and `render` on each.
- bundles: an unsigned bundle of the repository's prompts, mutated, its hashes made to
  match (anyone can); `bundle verify`, `bundle show`, then `Runtime.load`, `render` and
  `run` of each prompt against the fake server (only a PromptctlError may come out).

Found in session 6, each fixed with a test: non-string YAML keys, NaN/Infinity, a lint
crash on an odd input `type` or `required`, a dataset row's odd assertions, tampered
results files, mistyped recordings, an Anthropic stream index (docs/security.md).
Session 10 added values no serializer writes (`expand`): a 5,000-digit integer, nesting
past the stack, JSON's NaN, a YAML tag its constructor cannot read. The code before that
session's fixes failed 19 answers and 52 results cases at seed 2026 x 200, and 112 prompts
cases at seed 99 x 300 (RecursionError, ValueError, AttributeError tracebacks); after, 0.
Session 13 added `text` (hostile YAML and Jinja text, what no data mutation writes): on
the session's starting build it found tracebacks from merge keys bringing a list as a key,
`!!bool maybe`, `truncate(-1)`, `"text"|dictsort`, a YAML date or `!!binary` in a test's
vars and `!!binary` in an output schema (each fixed with a test); after, 0 in 5,000 cases.
Session 14 added `bundles`: on that session's starting build, 13 failures in 300 cases
(seed 11) and more at other seeds — a lone surrogate escape, a provenance of `null`, a
history splice naming a list, a fallback's or route's `use` that is not text, a timeout of
1e30 s, a price past a float (each fixed with a test); after, 0 in 1,600 (seeds 21-32).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

ODD: list[Any] = [
    None, 0, -1, 1.5, 10**30, "", "x" * 3000, [], {}, [None], {"a": None}, True,
    "{{ x }}", "{% for %}", "../../etc/passwd", "/dev/zero", "(a|aa)+$", [1, "a"],
    {"type": "regex", "value": "("}, {"type": "json-schema"}, "NaN", "weird", "DEL",
    "@@HUGE@@", "@@DEEP@@", "@@NAN@@", "@@TAG@@", "@@SURROGATE@@",
]  # fmt: skip
# Values no serializer writes, put into the written text (`expand`): an integer Python
# refuses to read (over 4,300 digits), nesting past the stack, and JSON's NaN (session 10
# found tracebacks behind each of them).
_JSON_TEXT = {
    '"@@HUGE@@"': "7" * 5000,
    '"@@DEEP@@"': "[" * 100_000 + "]" * 100_000,
    '"@@NAN@@"': "NaN",
    '"@@TAG@@"': '"!!timestamp"',  # JSON has no tags: a plain string there
    '"@@SURROGATE@@"': '"a\\ud800b"',  # a lone surrogate: no UTF-8 writes it (session 13)
}
_YAML_TEXT = {
    "'@@HUGE@@'": "7" * 5000,
    "'@@DEEP@@'": "[" * 1000 + "]" * 1000,
    "'@@NAN@@'": ".nan",
    "'@@TAG@@'": "!!timestamp 99999-01-01",  # a tag whose constructor cannot read it
    "'@@SURROGATE@@'": "'a'",  # libyaml refuses the escape itself: a plain value here
}


def expand(text: str, *, yaml_text: bool = False) -> str:
    """`text` with the `@@…@@` markers of ODD made what they stand for."""
    for marker, value in (_YAML_TEXT if yaml_text else _JSON_TEXT).items():
        text = text.replace(marker, value)
    return text


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def mutate(value: Any, rng: random.Random, *, under: tuple[Any, ...] = ()) -> Any:
    """`value` (a deep copy) with 1-3 values somewhere under `under` swapped or deleted."""
    out = copy.deepcopy(value)
    for _ in range(rng.randint(1, 3)):
        places = [p for p in _paths(out) if p[: len(under)] == under and len(p) > len(under)]
        if not places:
            break
        path = rng.choice(places)
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        odd = copy.deepcopy(rng.choice(ODD))
        if odd == "DEL":
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif parent:
                parent.pop(path[-1])
        else:
            parent[path[-1]] = odd
    return out


class Fuzz:
    def __init__(self, seed: int, out: Path) -> None:
        self.rng = random.Random(seed)
        self.out = out
        self.failures = 0

    def check_cli(
        self, case: int, args: list[str], cwd: Path, keep: Callable[[Path], None]
    ) -> None:
        from fakes.cli import invoke

        env = {k: v for k, v in os.environ.items() if "KEY" not in k}
        try:
            done = invoke(*args, cwd=cwd, env=env)
            text = done.stdout + done.stderr
            if done.returncode not in (0, 1, 2, 3) or "Traceback" in text:
                raise AssertionError(f"exit {done.returncode}: {text[-600:]}")
        except BaseException as exc:  # every escape is the finding
            self.fail(case, args, exc, keep)

    def fail(self, case: int, what: Any, exc: BaseException, keep: Callable[[Path], None]) -> None:
        self.failures += 1
        where = self.out / f"failure-{self.failures}"
        where.mkdir(parents=True, exist_ok=True)
        keep(where)
        (where / "error.txt").write_text(f"{what}\n{traceback.format_exc()}")
        print(f"FAIL case {case}: {what}: {exc!r:.300} (kept in {where})", flush=True)


def _project(fuzz: Fuzz) -> Path:
    root = fuzz.out / "project"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copy(REPO / "promptctl.yaml", root / "promptctl.yaml")
    shutil.copytree(REPO / "prompts", root / "prompts")
    shutil.copytree(REPO / "evals", root / "evals")
    return root


def fuzz_prompts(fuzz: Fuzz, cases: int) -> None:
    root = _project(fuzz)
    files = sorted((root / "prompts").rglob("*.yaml"))
    seeds = {f: yaml.safe_load(f.read_text()) for f in files}
    for case in range(cases):
        target = fuzz.rng.choice(files)
        data = mutate(seeds[target], fuzz.rng)
        target.write_text(expand(yaml.safe_dump(data, allow_unicode=True), yaml_text=True))
        prompt_id = data.get("id") if isinstance(data, dict) else None
        keep = lambda where, t=target: shutil.copy(t, where / t.name)  # noqa: E731
        for args in (
            ["lint", "--no-version-check"],
            ["list"],
            ["test", "--mode", "replay"],
            ["render", str(prompt_id or target.stem), "--format", "json"],
        ):
            fuzz.check_cli(case, args, root, keep)
        target.write_text(yaml.safe_dump(seeds[target], allow_unicode=True))


def fuzz_config(fuzz: Fuzz, cases: int) -> None:
    """promptctl.yaml with values swapped (a pull request can change it too): `lint`,
    `list`, `test --mode replay`, `render`, `providers`, `costs` and `ci --help`-free
    commands that read it."""
    root = _project(fuzz)
    target = root / "promptctl.yaml"
    seed = yaml.safe_load(target.read_text())
    seed.setdefault("pricing", {"openai/gpt-4o-mini": {"input": 0.15, "output": 0.6}})
    keep = lambda where: shutil.copy(target, where / target.name)  # noqa: E731
    for case in range(cases):
        data = mutate(seed, fuzz.rng)
        target.write_text(expand(yaml.safe_dump(data, allow_unicode=True), yaml_text=True))
        for args in (
            ["lint", "--no-version-check"],
            ["list"],
            ["test", "--mode", "replay"],
            ["render", "support/triage", "--format", "json"],
            ["providers"],
            ["costs"],
        ):
            fuzz.check_cli(case, args, root, keep)


def fuzz_datasets(fuzz: Fuzz, cases: int) -> None:
    root = _project(fuzz)
    files = sorted((root / "evals" / "datasets").glob("*.jsonl"))
    originals = {f: f.read_text() for f in files}
    odd_lines = ["", "{", "[]", "null", "1", '"x"', '{"vars": 5}', '{"assert": {"type": 1}}']
    for case in range(cases):
        target = fuzz.rng.choice(files)
        lines = originals[target].splitlines()
        i = fuzz.rng.randrange(len(lines))
        lines[i] = expand(json.dumps(mutate(json.loads(lines[i]), fuzz.rng)))
        if fuzz.rng.random() < 0.2:
            lines.insert(fuzz.rng.randrange(len(lines) + 1), fuzz.rng.choice(odd_lines))
        target.write_text("\n".join(lines) + "\n")
        keep = lambda where, t=target: shutil.copy(t, where / t.name)  # noqa: E731
        for args in (["lint", "--no-version-check"], ["test", "--mode", "replay"]):
            fuzz.check_cli(case, args, root, keep)
        target.write_text(originals[target])


def fuzz_results(fuzz: Fuzz, cases: int) -> None:
    from fakes.cli import invoke

    root = _project(fuzz)
    invoke("test", "--mode", "replay", "--output", "base.json", cwd=root, env=dict(os.environ))
    seed = json.loads((root / "base.json").read_text())
    for case in range(cases):
        (root / "head.json").write_text(expand(json.dumps(mutate(seed, fuzz.rng))))
        keep = lambda where: shutil.copy(root / "head.json", where / "head.json")  # noqa: E731
        for args in (
            ["diff", "--base", "base.json", "--head", "head.json"],
            ["report", "head.json", "--html", "r.html"],
            ["report", "head.json", "base.json", "--html", "d.html"],
            ["merge", "head.json", "base.json", "--output", "m.json"],
        ):
            fuzz.check_cli(case, args, root, keep)


def fuzz_recordings(fuzz: Fuzz, cases: int) -> None:
    root = _project(fuzz)
    files = sorted((root / "evals" / "recordings").rglob("*.json"))
    originals = {f: f.read_text() for f in files}
    for case in range(cases):
        changed = fuzz.rng.sample(files, min(len(files), fuzz.rng.randint(1, 3)))
        for f in changed:
            mutated = mutate(json.loads(originals[f]), fuzz.rng, under=("response",))
            f.write_text(expand(json.dumps(mutated)))
        keep = lambda where, c=changed: [shutil.copy(f, where / f.name) for f in c]  # noqa: E731
        fuzz.check_cli(case, ["test", "--mode", "replay"], root, keep)
        for f in changed:
            f.write_text(originals[f])


def _answers() -> dict[tuple[str, bool], bytes]:
    """Whole answers and streams of every wire, text and tool calls, from the fake."""
    import httpx2

    from fakes.llm_server import FakeLLM

    fake = FakeLLM().start()
    headers = {"authorization": "Bearer x", "x-api-key": "x", "x-goog-api-key": "x"}
    out: dict[tuple[str, bool], bytes] = {}
    try:
        with httpx2.Client(timeout=10) as client:
            for tools in (False, True):
                if tools:
                    fake.reply_tool_calls([("get_weather", {"city": "Paris", "days": 2})])
                for stream in (False, True):
                    gemini = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
                    hello = [{"role": "user", "content": "hi"}]
                    for kind, url, body in (
                        ("openai", fake.openai_base + "/chat/completions",
                         {"model": "m", "messages": hello}),
                        ("anthropic", fake.anthropic_base + "/v1/messages",
                         {"model": "m", "max_tokens": 9, "messages": hello}),
                        ("gemini", fake.gemini_base + "/models/m" + gemini,
                         {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
                        ("openai-responses", fake.openai_base + "/responses",
                         {"model": "m", "input": "hi"}),
                    ):  # fmt: skip
                        sent = {**body, "stream": stream} if kind != "gemini" else body
                        out[(kind, stream)] = client.post(url, json=sent, headers=headers).content
    finally:
        fake.stop()
    return out


def fuzz_answers(fuzz: Fuzz, cases: int) -> None:
    from promptctl.errors import ProviderError
    from promptctl.providers.base import load_adapter
    from promptctl.providers.sse import SSEParser

    answers = _answers()
    for case in range(cases):
        kind, stream = fuzz.rng.choice(list(answers))
        body = answers[(kind, stream)]
        adapter = load_adapter(kind)
        if stream:
            lines = []
            for line in body.decode().split("\n"):
                if line.startswith("data: ") and fuzz.rng.random() < 0.3:
                    try:
                        line = "data: " + expand(json.dumps(mutate(json.loads(line[6:]), fuzz.rng)))
                    except ValueError:
                        line = line[: fuzz.rng.randrange(len(line) + 1)]
                lines.append(line)
            data = "\n".join(lines).encode("utf-8", "surrogatepass")
        else:
            text = expand(json.dumps(mutate(json.loads(body), fuzz.rng)))
            data = text.encode("utf-8", "surrogatepass")
        keep = lambda where, d=data: (where / "answer.bin").write_bytes(d)  # noqa: E731
        try:
            if stream:
                parser, decoder = SSEParser(), adapter.stream_decoder()  # type: ignore[misc]
                for start in range(0, len(data), 97):
                    for event in parser.feed(data[start : start + 97]):
                        decoder.feed(event)
                for event in parser.close():
                    decoder.feed(event)
                decoder.result()
            else:
                status = fuzz.rng.choice([200, 200, 200, 400, 429, 500, 529])
                adapter.parse_response(status, {"content-type": "application/json"}, data)
        except ProviderError:
            pass
        except BaseException as exc:  # every escape is the finding
            fuzz.fail(case, (kind, "stream" if stream else "whole"), exc, keep)


# what no data mutation writes: YAML text (merge keys bringing odd keys, anchors and
# aliases, tags their constructors refuse) and Jinja (filters given what they cannot take,
# loops and numbers past the limits, escapes from the sandbox), spliced into a line
_SPLICED_YAML = [
    "<<: {[q]: 1}", "<<: *nope", "<<: {1: x}", "&x {a: 1}", "*x", "!!bool maybe", "!!binary aGk=",
    "!!set {a, b}", "!!omap [a: 1]", "? [a]", "{a: &y [1, *y]}", "!!float 1e400", "- &z a",
]  # fmt: skip
_SPLICED_JINJA = [
    "{{ q|truncate(-1) }}", "{{ q|dictsort }}", "{{ q|xmlattr }}", "{{ 1/0 }}", "{{ 9**9**9 }}",
    "{% for x in range(10**9) %}x{% endfor %}", "{{ q.__class__.__mro__ }}", "{{ [1]*10**8 }}",
    "{% include '../../etc/passwd' %}", "{{ q|wordwrap(0) }}", "{{ lipsum(10**6) }}", "{%", "}}",
]  # fmt: skip


def fuzz_text(fuzz: Fuzz, cases: int) -> None:
    """Hostile YAML or Jinja text spliced into a line of an example prompt (session 13:
    `<<: {[q]: 1}`, `!!bool maybe`, `q|truncate(-1)` and `q|dictsort` were tracebacks)."""
    root = _project(fuzz)
    files = sorted((root / "prompts").rglob("*.yaml"))
    originals = {f: f.read_text() for f in files}
    for case in range(cases):
        target = fuzz.rng.choice(files)
        lines = originals[target].splitlines()
        k = fuzz.rng.randrange(len(lines))
        line = lines[k]
        indent = " " * (len(line) - len(line.lstrip()))
        if fuzz.rng.random() < 0.5:
            piece = fuzz.rng.choice(_SPLICED_YAML)
            if ":" in line and fuzz.rng.random() < 0.7:
                lines[k] = line.split(":", 1)[0] + ": " + piece
            else:
                lines.insert(k + 1, indent + piece)
        else:  # into a message's text where there is one (a block scalar's line)
            text_lines = [i for i, t in enumerate(lines) if t.strip() and ":" not in t]
            k = fuzz.rng.choice(text_lines) if text_lines else k
            lines[k] = lines[k] + " " + fuzz.rng.choice(_SPLICED_JINJA)
        target.write_text("\n".join(lines) + "\n")
        keep = lambda where, t=target: shutil.copy(t, where / t.name)  # noqa: E731
        for args in (
            ["lint", "--no-version-check"],
            ["test", "--mode", "replay"],
            ["render", target.stem, "--format", "json"],
        ):
            fuzz.check_cli(case, args, root, keep)
        target.write_text(originals[target])


def _bundle_doc(fuzz: Fuzz) -> dict[str, Any]:
    """An unsigned bundle of the repository's prompts, as `publish` builds it."""
    from promptctl.bundle.format import build_bundle, serialize
    from promptctl.promptfile.loader import load_prompts
    from promptctl.promptfile.project import load_project
    from promptctl.publish.selection import _inlined

    root = _project(fuzz)
    project = load_project(root / "promptctl.yaml")
    loaded = load_prompts(project)
    doc = build_bundle(
        [_inlined(p, loaded.partials) for p in loaded.prompts], providers=project.providers,
        eval_summaries={}, git_commit=None, created_from="fuzz", root=root, sequence=1,
    )  # fmt: skip
    return cast(dict[str, Any], json.loads(serialize(doc)))


def _rehash(doc: Any) -> None:
    """What anyone can do to an unsigned bundle: each prompt's content hash and identity,
    then the document's digest, made to match the edited content (where it still reads)."""
    from promptctl.bundle.format import bundle_prompt_to_prompt, compute_digest, identity
    from promptctl.promptfile.hashing import content_hash

    if not isinstance(doc, dict):
        return
    entries = doc.get("prompts")
    for entry in entries if isinstance(entries, list) else ():
        try:
            digest = content_hash(bundle_prompt_to_prompt(entry))
            entry["content_hash"] = digest
            entry["identity"] = identity(entry["id"], entry["version"], digest)
        except Exception:  # the reader must then refuse it
            continue
    if isinstance(doc.get("manifest"), dict):
        with contextlib.suppress(Exception):  # the reader must then refuse it
            doc["manifest"]["digest"] = compute_digest(doc)


def fuzz_bundles(fuzz: Fuzz, cases: int) -> None:
    """An unsigned bundle with values swapped and its hashes made to match (anyone can):
    `bundle verify` and `bundle show`, then `Runtime.load`, `render` and `run` of each
    prompt against the fake server. Only a PromptctlError may come out."""
    from fakes.llm_server import FakeLLM
    from promptctl.errors import PromptctlError
    from promptctl.runtime import Runtime

    seed = _bundle_doc(fuzz)
    root = fuzz.out / "project"
    path = root / "fuzzed.bundle.json"
    fake = FakeLLM().start()
    overrides = {
        "openai": {"base_url": fake.openai_base},
        "anthropic": {"base_url": fake.anthropic_base},
    }
    env = {"OPENAI_API_KEY": "sk-fuzz", "ANTHROPIC_API_KEY": "sk-fuzz"}
    loaded, done = 0, {"render": 0, "run": 0}
    try:
        for case in range(cases):
            doc = mutate(seed, fuzz.rng)
            _rehash(doc)
            path.write_text(expand(json.dumps(doc)))
            keep = lambda where: shutil.copy(path, where / path.name)  # noqa: E731
            for args in (["bundle", "verify", path.name], ["bundle", "show", path.name]):
                fuzz.check_cli(case, args, root, keep)
            try:
                runtime = Runtime.load(path, ledger=False, providers=overrides, env=env)
            except PromptctlError:
                continue
            except BaseException as exc:  # every escape is the finding
                fuzz.fail(case, "Runtime.load", exc, keep)
                continue
            loaded += 1
            try:
                for prompt_id, prompt in runtime.bundle.prompts.items():
                    inputs = {name: _input_value(spec) for name, spec in prompt.inputs.items()}
                    for call in (runtime.render, runtime.run):
                        try:
                            call(prompt_id, **inputs)
                            done[call.__name__] += 1
                        except PromptctlError:
                            pass
                        except BaseException as exc:  # every escape is the finding
                            fuzz.fail(case, (call.__name__, prompt_id), exc, keep)
            finally:
                runtime.close()
    finally:
        fake.stop()
    print(f"loaded {loaded} of {cases}; prompts rendered {done['render']}, run {done['run']}")


def _input_value(spec: Any) -> Any:
    """A value of the input's declared type (its default where it has one)."""
    if not isinstance(spec, dict):
        return "x"
    if "default" in spec:
        return spec["default"]
    kind = spec.get("type")
    typed = {"array": [], "object": {}, "integer": 1, "number": 1.5, "boolean": True}
    return typed.get(kind, "x") if isinstance(kind, str) else "x"


MODES = {
    "prompts": fuzz_prompts,
    "config": fuzz_config,
    "datasets": fuzz_datasets,
    "results": fuzz_results,
    "recordings": fuzz_recordings,
    "answers": fuzz_answers,
    "text": fuzz_text,
    "bundles": fuzz_bundles,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix=f"promptctl-fuzz-{args.mode}-"))
    fuzz = Fuzz(args.seed, out)
    MODES[args.mode](fuzz, args.cases)
    found = f"{fuzz.failures} failure(s)"
    print(f"{args.mode}: {args.cases} cases, seed {args.seed}, {found}; in {out}")
    return 1 if fuzz.failures else 0


if __name__ == "__main__":
    sys.exit(main())
