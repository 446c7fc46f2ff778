"""A corpus of hostile project trees, built on demand in a temporary folder.

Each `Hostile` entry is one attack a pull request can carry in files: a symlink out of
the project, a FIFO, a `/dev/zero` link, a huge or deeply nested file, a traversal, a
YAML or template bomb, a catastrophic regex, a repeat bomb. `build(root, outside)` lays
the tree out under `root` (the project) and may put files a project must never read
under `outside` (next to it). The test runs `args` through the real CLI and checks the
exit code, that `expect` appears in the output, and that nothing in `forbid` does (the
content of a file the project must not read, a canary from the environment, a
traceback).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CANARY", "CASES", "SECRET", "Hostile", "prompt_yaml"]

SECRET = "TOPSECRET-outside-the-project"
CANARY = "canary-env-7f3a9c"  # set in the environment of subprocess runs


@dataclass(frozen=True)
class Hostile:
    """One hostile tree and what the CLI must do with it."""

    name: str
    build: Callable[[Path, Path], None]
    args: tuple[str, ...]
    exit_code: int
    expect: tuple[str, ...]
    forbid: tuple[str, ...] = ()
    # run in a subprocess with a timeout: where the bug was a hang or a memory bomb
    subprocess: bool = False
    needs_llm: bool = False
    env: dict[str, str] = field(default_factory=dict)
    # a pattern search's bound in the subprocess (promptctl's is 1 s)
    regex_timeout_s: float | None = None


def prompt_yaml(
    *,
    messages: str = '  - user: "say {{ word }}"\n',
    tests: str = "  - name: t\n    vars: {word: hi}\n    assert: [{type: contains, value: hi}]\n",
    inputs: str = "inputs: {word: {type: string}}\n",
) -> str:
    return (
        "version: 1.0.0\n"
        "description: hostile\n"
        "model: {use: openai/gpt-4o-mini, params: {max_tokens: 20}}\n"
        f"{inputs}"
        "messages:\n"
        f"{messages}"
        "tests:\n"
        f"{tests}"
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _project(root: Path, config: str = "", prompt: str | None = None) -> None:
    _write(root / "promptctl.yaml", config or "judge: openai/gpt-4o-mini\n")
    _write(root / "prompts" / "a.yaml", prompt if prompt is not None else prompt_yaml())


def _secret(outside: Path, name: str = "secret.txt") -> Path:
    target = outside / name
    _write(target, f"{SECRET}\n")
    return target


def _symlink(link: Path, target: Path | str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def _fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


_INCLUDE = '  - system: "{% include \'p.j2\' %}"\n  - user: "say {{ word }}"\n'
_DATASET = "  - dataset: {where}\n"


def _partial_environ(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(messages=_INCLUDE))
    _symlink(root / "prompts" / "_partials" / "p.j2", "/proc/self/environ")


def _partial_outside(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(messages=_INCLUDE))
    _symlink(root / "prompts" / "_partials" / "p.j2", _secret(outside))


def _partial_devzero(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(messages=_INCLUDE))
    _symlink(root / "prompts" / "_partials" / "p.j2", "/dev/zero")


def _partial_fifo(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(messages=_INCLUDE))
    _fifo(root / "prompts" / "_partials" / "p.j2")


def _include_traversal(root: Path, outside: Path) -> None:
    messages = '  - system: "{% include \'../../etc/passwd\' %}"\n  - user: "{{ word }}"\n'
    _project(root, prompt=prompt_yaml(messages=messages))


def _dataset_at(where: str) -> Callable[[Path, Path], None]:
    def build(root: Path, outside: Path) -> None:
        _write(outside / "rows.jsonl", f'{{"vars": {{"word": "{SECRET}"}}}}\n')
        _project(root, prompt=prompt_yaml(tests=_DATASET.format(where=where)))

    return build


def _dataset_absolute(root: Path, outside: Path) -> None:
    _dataset_at(str(outside / "rows.jsonl"))(root, outside)


def _dataset_symlink(root: Path, outside: Path) -> None:
    _dataset_at("../evals/rows.jsonl")(root, outside)
    _symlink(root / "evals" / "rows.jsonl", outside / "rows.jsonl")


def _dataset_devzero(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(tests=_DATASET.format(where="../evals/rows.jsonl")))
    _symlink(root / "evals" / "rows.jsonl", "/dev/zero")


def _dataset_fifo(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(tests=_DATASET.format(where="../evals/rows.jsonl")))
    _fifo(root / "evals" / "rows.jsonl")


def _dataset_too_many_rows(root: Path, outside: Path) -> None:
    _project(
        root,
        config="limits: {max_dataset_rows: 10}\n",
        prompt=prompt_yaml(tests=_DATASET.format(where="../evals/rows.jsonl")),
    )
    rows = "".join(f'{{"name": "r{i}", "vars": {{"word": "w{i}"}}}}\n' for i in range(11))
    _write(root / "evals" / "rows.jsonl", rows)


def _dataset_deep_row(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(tests=_DATASET.format(where="../evals/rows.jsonl")))
    deep = '{"vars": {"word": ' + "[" * 10_000 + "]" * 10_000 + "}}\n"
    _write(root / "evals" / "rows.jsonl", '{"vars": {"word": "ok"}}\n' + deep)


def _prompt_symlink_outside(root: Path, outside: Path) -> None:
    _project(root)
    target = outside / "stolen.yaml"
    _write(target, prompt_yaml(messages=f'  - user: "{SECRET} {{{{ word }}}}"\n'))
    _symlink(root / "prompts" / "b.yaml", target)


def _prompt_fifo(root: Path, outside: Path) -> None:
    _project(root)
    _fifo(root / "prompts" / "b.yaml")


def _prompt_huge(root: Path, outside: Path) -> None:
    _project(root)
    _write(root / "prompts" / "b.yaml", "version: 1.0.0\n# " + "x" * (9 * 1024 * 1024) + "\n")


def _prompt_deep(root: Path, outside: Path) -> None:
    _project(root)
    _write(root / "prompts" / "b.yaml", "version: 1.0.0\nx: " + "[" * 150 + "]" * 150 + "\n")


def _yaml_bomb(root: Path, outside: Path) -> None:
    _project(root)
    lines = ["version: 1.0.0", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    _write(root / "prompts" / "b.yaml", "\n".join(lines) + "\n")


def _config_directory(root: Path, outside: Path) -> None:
    _write(root / "prompts" / "a.yaml", prompt_yaml())
    (root / "promptctl.yaml").mkdir()


def _config_symlink_outside(root: Path, outside: Path) -> None:
    _write(root / "prompts" / "a.yaml", prompt_yaml())
    _write(outside / "promptctl.yaml", "prompts: prompts\n")
    _symlink(root / "promptctl.yaml", outside / "promptctl.yaml")


def _config_key(key: str, value: Callable[[Path], str]) -> Callable[[Path, Path], None]:
    def build(root: Path, outside: Path) -> None:
        _write(outside / "prompts" / "x.yaml", prompt_yaml())
        _project(root, config=f"judge: openai/gpt-4o-mini\n{key}: {value(outside)}\n")

    return build


def _prompts_symlink_outside(root: Path, outside: Path) -> None:
    _write(root / "promptctl.yaml", "judge: openai/gpt-4o-mini\n")
    _write(outside / "prompts" / "x.yaml", prompt_yaml())
    _symlink(root / "prompts", outside / "prompts")


def _python_check_outside(root: Path, outside: Path) -> None:
    marker = outside / "imported.marker"
    body = f"open({str(marker)!r}, 'w').write('ran')\ndef ok(o, c): return True\n"
    _write(outside / "evil.py", body)
    tests = (
        "  - name: t\n    vars: {word: hi}\n"
        "    assert: [{type: python, value: 'evals/checks.py:ok'}]\n"
    )
    _project(root, prompt=prompt_yaml(tests=tests))
    _symlink(root / "evals" / "checks.py", outside / "evil.py")


def _template(expr: str) -> Callable[[Path, Path], None]:
    def build(root: Path, outside: Path) -> None:
        _project(root, prompt=prompt_yaml(messages=f'  - system: "hello"\n  - user: "{expr}"\n'))

    return build


def _repeat_bomb(root: Path, outside: Path) -> None:
    tests = "  - name: t\n    vars: {word: hi}\n    repeat: 100000000\n    assert: [contains: hi]\n"
    _project(root, prompt=prompt_yaml(tests=tests))


def _bad_input_schema(root: Path, outside: Path) -> None:
    _project(root, prompt=prompt_yaml(inputs="inputs: {word: {type: strng}}\n"))


def _invalid_prompt(root: Path, outside: Path) -> None:
    _project(root)
    _write(root / "prompts" / "b.yaml", "version: 1.0.0\nmodel: [\n")


def _number_key(root: Path, outside: Path) -> None:
    """`{temperature: 0, 00}`: YAML reads `00` as the number 0; mixed keys broke hashing."""
    text = prompt_yaml().replace("params: {max_tokens: 20}", "params: {temperature: 0, 00}")
    _project(root, prompt=text)


def _boolean_key_in_config(root: Path, outside: Path) -> None:
    _project(root, config="providers:\n  yes: {kind: openai}\n")


def _broken_prompt_by_id(root: Path, outside: Path) -> None:
    _project(root)
    _write(root / "prompts" / "b.yaml", "id: team/broken\nversion: 1.0.0\nmodel: {use: x\n")


def _vars_fifo(root: Path, outside: Path) -> None:
    _project(root)
    _fifo(root / "vars.yaml")


def _too_many_cases(root: Path, outside: Path) -> None:
    tests = "  - name: t\n    vars: {word: hi}\n    repeat: 6\n    assert: [contains: hi]\n"
    _project(root, config="limits: {max_cases: 5}\n", prompt=prompt_yaml(tests=tests))


def _dataset_over_byte_cap(root: Path, outside: Path) -> None:
    _project(
        root,
        config="limits: {max_dataset_bytes: 100}\n",
        prompt=prompt_yaml(tests=_DATASET.format(where="../evals/rows.jsonl")),
    )
    _write(root / "evals" / "rows.jsonl", '{"vars": {"word": "' + "w" * 200 + '"}}\n')


def _regex_nested(root: Path, outside: Path) -> None:
    tests = "  - name: t\n    vars: {word: hi}\n    assert: [{type: regex, value: '(a+)+$'}]\n"
    _project(root, prompt=prompt_yaml(tests=tests))


def _huge_version(root: Path, outside: Path) -> None:
    _project(root)
    _write(root / "prompts" / "b.yaml", f"version: 'v{SECRET}" + "9" * 500_000 + "'\n")


def _deep_results(root: Path, outside: Path) -> None:
    _project(root)
    _write(root / "shard1.json", "[" * 100_000 + "]" * 100_000)


def _state_dir_symlink(root: Path, outside: Path) -> None:
    _project(root)
    (outside / "state").mkdir()
    _symlink(root / ".promptctl", outside / "state")


def _recordings_symlink(root: Path, outside: Path) -> None:
    _project(root)
    (outside / "recordings").mkdir()
    _symlink(root / "evals" / "recordings", outside / "recordings")


def _results_fifo(root: Path, outside: Path) -> None:
    _project(root)
    _fifo(root / "shard1.json")


def _deep_bundle(root: Path, outside: Path) -> None:
    _write(root / "deep.bundle.json", '{"manifest": ' + "[" * 10_000 + "]" * 10_000 + "}")


def _regex_bomb(root: Path, outside: Path) -> None:
    tests = (
        "  - name: t\n    vars: {word: hi}\n"
        "    assert: [{type: regex, value: '^(a|aa)+$'}, {type: contains, value: a}]\n"
    )
    _project(root, prompt=prompt_yaml(tests=tests))


def _schema_pattern_bomb(root: Path, outside: Path) -> None:
    inputs = "inputs: {word: {type: string, pattern: '^(a|aa)+$'}}\n"
    _project(root, prompt=prompt_yaml(inputs=inputs))


def _schema_patterns_nested(root: Path, outside: Path) -> None:
    prompt = prompt_yaml() + (
        "output:\n  format: json\n"
        "  schema: {type: object, properties: {d: {type: string, pattern: '^([a-z]+\\.)+$'}}}\n"
        "tools:\n  - name: find\n"
        "    parameters: {type: object, properties: {q: {type: string, pattern: '(x*)*y'}}}\n"
    )
    _project(root, prompt=prompt)


_OUT = "outside the project"
_TB = "Traceback"

CASES: tuple[Hostile, ...] = (
    Hostile(
        "partial-symlink-to-proc-environ",
        _partial_environ,
        ("render", "a", "--var", "word=hi"),
        2,
        ("p.j2", _OUT),
        (CANARY, _TB),
        subprocess=True,
    ),
    Hostile(
        "partial-symlink-outside",
        _partial_outside,
        ("render", "a", "--var", "word=hi"),
        2,
        ("p.j2", _OUT),
        (SECRET, _TB),
    ),
    Hostile(
        "partial-symlink-dev-zero",
        _partial_devzero,
        ("render", "a", "--var", "word=hi"),
        2,
        ("p.j2", _OUT),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "partial-fifo",
        _partial_fifo,
        ("render", "a", "--var", "word=hi"),
        2,
        ("p.j2", "FIFO"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "include-etc-passwd",
        _include_traversal,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:6:", "PC012", "leaves the partials folder"),
        ("root:", _TB),
    ),
    Hostile(
        "dataset-traversal",
        _dataset_at("../../outside/rows.jsonl"),
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:8:14", "PC007", _OUT),
        (SECRET, _TB),
    ),
    Hostile(
        "dataset-absolute-path",
        _dataset_absolute,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:8:14", "PC007", _OUT),
        (SECRET, _TB),
    ),
    Hostile(
        "dataset-symlink-outside",
        _dataset_symlink,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:8:14", "PC007", _OUT),
        (SECRET, _TB),
    ),
    Hostile(
        "dataset-symlink-dev-zero",
        _dataset_devzero,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:8:14", "PC007", _OUT),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "dataset-fifo",
        _dataset_fifo,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:8:14", "PC007", "FIFO"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "dataset-over-row-cap",
        _dataset_too_many_rows,
        ("lint", "--no-version-check"),
        1,
        ("evals/rows.jsonl:11", "11 rows, over the limit of 10", "max_dataset_rows"),
        (_TB,),
    ),
    Hostile(
        "dataset-row-10000-deep",
        _dataset_deep_row,
        ("lint", "--no-version-check"),
        1,
        ("evals/rows.jsonl:2", "PC007", "nested more than 100 levels"),
        (_TB, "RecursionError"),
    ),
    Hostile(
        "prompt-symlink-outside",
        _prompt_symlink_outside,
        ("lint", "--no-version-check"),
        1,
        ("prompts/b.yaml", "PC001", _OUT),
        (SECRET, _TB),
    ),
    Hostile(
        "prompt-fifo",
        _prompt_fifo,
        ("lint", "--no-version-check"),
        1,
        ("prompts/b.yaml", "PC001", "FIFO"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "prompt-9mb",
        _prompt_huge,
        ("lint", "--no-version-check"),
        1,
        ("prompts/b.yaml", "PC001", "over the 8,388,608-byte limit"),
        (_TB,),
    ),
    Hostile(
        "prompt-nested-150-deep",
        _prompt_deep,
        ("lint", "--no-version-check"),
        1,
        ("prompts/b.yaml:2:", "nested more than 100 levels"),
        (_TB,),
    ),
    Hostile(
        "yaml-billion-laughs",
        _yaml_bomb,
        ("lint", "--no-version-check"),
        1,
        ("prompts/b.yaml", "alias bomb"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "number-key-in-a-prompt",
        _number_key,
        ("test", "--mode", "replay"),
        2,
        ("prompts/a.yaml:3:", "the key '00' is read as a number", "quote it: '00':"),
        (_TB,),
    ),
    Hostile(
        "boolean-key-in-the-config",
        _boolean_key_in_config,
        ("list",),
        2,
        ("promptctl.yaml:2:3", "the key 'yes' is read as a boolean"),
        (_TB,),
    ),
    Hostile(
        "a-broken-prompt-asked-for-by-its-id",
        _broken_prompt_by_id,
        ("render", "team/broken"),
        2,
        ("prompts/b.yaml:4:", "YAML syntax error"),
        (_TB, "no prompt with id"),
    ),
    Hostile(
        "config-is-a-directory",
        _config_directory,
        ("list",),
        2,
        ("promptctl.yaml", "is a directory"),
        (_TB,),
    ),
    Hostile(
        "config-symlink-outside",
        _config_symlink_outside,
        ("list",),
        2,
        ("promptctl.yaml", _OUT),
        (_TB,),
    ),
    Hostile(
        "prompts-etc",
        _config_key("prompts", lambda outside: "/etc"),
        ("list",),
        2,
        ("promptctl.yaml:2:10", "`prompts:` folder", _OUT),
        (_TB,),
    ),
    Hostile(
        "prompts-dotdot",
        _config_key("prompts", lambda outside: "../outside/prompts"),
        ("list",),
        2,
        ("promptctl.yaml:2:10", _OUT),
        (_TB,),
    ),
    Hostile(
        "evals-absolute",
        _config_key("evals", lambda outside: str(outside)),
        ("list",),
        2,
        ("promptctl.yaml:2:8", "`evals:` folder", _OUT),
        (_TB,),
    ),
    Hostile(
        "prompts-folder-symlink-outside",
        _prompts_symlink_outside,
        ("list",),
        2,
        ("`prompts:` folder", _OUT),
        (_TB,),
    ),
    Hostile(
        "python-check-symlink-outside",
        _python_check_outside,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:10:", "PC016", "python check", _OUT),
        (_TB,),
    ),
    Hostile(
        "template-string-times-1e10",
        _template("{{ 'x' * 10**10 }}"),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "template refused", "repeating"),
        (_TB, "MemoryError"),
        subprocess=True,
    ),
    Hostile(
        "template-range-1e9",
        _template("{{ range(10**9)|list }}"),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "range of 1,000,000,000 items"),
        (_TB,),
    ),
    Hostile(
        "template-nested-loops",
        _template(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
        ),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "loops over more than 1,000,000 items in total"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "template-string-doubled-in-a-loop",
        _template(
            "{% set ns = namespace(a='x' * 1000000) %}{% for i in range(40) %}"
            "{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ ns.a|length }}"
        ),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "template refused: a joined text would be"),
        (_TB, "out of memory"),
        subprocess=True,
    ),
    Hostile(
        "template-nested-loops-over-a-string",
        _template("{% for a in 'x' * 100000 %}{% for b in 'x' * 100000 %}{% endfor %}{% endfor %}"),
        ("test", "--mode", "replay"),
        3,  # the case errors (kind `render`); before, the run hung
        ("prompts/a.yaml:7:", "loops over more than 1,000,000 items in total"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "template-center-1e10",
        _template("{{ 'x'|center(10**10) }}"),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "argument of |center"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "template-power-tower",
        _template("{{ 10 ** 100000000 }}"),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "bits"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "template-format-width",
        _template("{{ '%0100000000d' % 1 }}"),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "format width"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "repeat-bomb",
        _repeat_bomb,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:10:13", "repeat: 100000000 is over the limit of 100", "max_repeat"),
        (_TB,),
    ),
    Hostile(
        "repeat-flag-bomb",
        lambda root, outside: _project(root),
        ("test", "--repeat", "100000000", "--mode", "replay"),
        2,
        ("--repeat 100000000 is over the limit of 100", "max_repeat"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "render-invalid-input-schema",
        _bad_input_schema,
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml", "input 'word' is not a valid JSON Schema"),
        (_TB,),
    ),
    Hostile(
        "list-with-an-invalid-prompt",
        _invalid_prompt,
        ("list",),
        2,
        ("prompts/b.yaml:", "1 file(s) with errors"),
        (_TB,),
    ),
    Hostile(
        "vars-file-fifo",
        _vars_fifo,
        ("render", "a", "--vars", "vars.yaml"),
        2,
        ("vars.yaml", "FIFO"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "cases-over-max-cases",
        _too_many_cases,
        ("test", "--mode", "replay"),
        2,
        ("6 cases, over the limit of 5", "max_cases"),
        (_TB,),
    ),
    Hostile(
        "dataset-over-byte-cap",
        _dataset_over_byte_cap,
        ("lint", "--no-version-check"),
        1,
        ("prompts/a.yaml:8:14", "PC007", "over the 100-byte limit", "limits:"),
        (_TB,),
    ),
    Hostile(
        "regex-nested-quantifier-warned",
        _regex_nested,
        ("lint", "--no-version-check"),
        0,
        ("prompts/a.yaml:10:", "PC110", "nests a repeat inside a repeat"),
        (_TB,),
    ),
    Hostile(
        "template-output-over-cap",
        _template("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"),
        ("render", "a", "--var", "word=hi"),
        2,
        ("prompts/a.yaml:7:", "output is over the limit of 10,000,000 characters"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "half-megabyte-version-is-not-quoted",
        _huge_version,
        ("lint", "--no-version-check"),
        1,
        ("prompts/b.yaml:1:10", "PC005", "more characters)"),
        ("9" * 200, _TB),
    ),
    Hostile(
        "results-file-100000-deep",
        _deep_results,
        ("merge", "shard1.json", "--output", "all.json"),
        2,
        ("shard1.json", "nested too deeply"),
        (_TB, "RecursionError"),
    ),
    Hostile(
        "var-30000-deep",
        lambda root, outside: _project(root, prompt=prompt_yaml(inputs="inputs: {word: {}}\n")),
        ("render", "a", "--var", "word=" + "[" * 30_000 + "]" * 30_000),
        2,
        ("--var word", "nested too deeply"),
        (_TB, "RecursionError"),
    ),
    Hostile(
        "state-dir-symlink-outside",
        _state_dir_symlink,
        ("test", "--mode", "replay"),
        2,
        (".promptctl", _OUT),
        (_TB,),
    ),
    Hostile(
        "recordings-symlink-outside",
        _recordings_symlink,
        ("test", "--mode", "replay"),
        2,
        ("evals/recordings", _OUT),
        (_TB,),
    ),
    Hostile(
        "results-file-fifo",
        _results_fifo,
        ("merge", "shard1.json", "--output", "all.json"),
        2,
        ("shard1.json", "FIFO"),
        (_TB,),
        subprocess=True,
    ),
    Hostile(
        "bundle-nested-10000-deep",
        _deep_bundle,
        ("bundle", "verify", "deep.bundle.json"),
        2,
        ("deep.bundle.json", "nested too deeply"),
        (_TB, "RecursionError"),
    ),
    Hostile(
        "schema-pattern-catastrophic-on-an-input",
        _schema_pattern_bomb,
        ("render", "a", "--var", "word=" + "a" * 40 + "!"),
        2,
        ("a: an input's `pattern` ran longer than 0.1s", "PC110"),
        (_TB,),
        subprocess=True,
        regex_timeout_s=0.1,
    ),
    Hostile(
        "schema-patterns-nested-warned",
        _schema_patterns_nested,
        ("lint", "--no-version-check"),
        0,
        ("prompts/a.yaml:13:66: PC110", "prompts/a.yaml:16:72: PC110", "exponential time"),
        (_TB,),
    ),
    Hostile(
        "regex-catastrophic-backtracking",
        _regex_bomb,
        ("test", "--mode", "live", "--no-cache"),
        1,
        ("ran longer than 0.1s",),
        (_TB,),
        subprocess=True,
        needs_llm=True,
        regex_timeout_s=0.1,
    ),
)
