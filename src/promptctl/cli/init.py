"""`promptctl init [DIR]`: scaffold a prompt repository that lints clean.

It also writes `.github/workflows/promptctl.yml` (the template ships as package data,
`cli/templates/github-workflow.yaml`): `promptctl ci --comment` on every pull request,
installing promptctl from a pinned source (`install_pin`), never by name from the index.
The `.gitignore` covers the default signing-key location (`keygen keys` writes there).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from promptctl.errors import UsageError

CONFIG = """\
# yaml-language-server: $schema=schemas/config.schema.json
prompts: prompts
evals: evals
judge: @@MODEL@@
gate: {max_pass_rate_drop: 0.0, max_cost_increase_pct: 10, alpha: 0.05}
"""

EXAMPLE = """\
# yaml-language-server: $schema=../../schemas/prompt.schema.json
version: 0.1.0
description: Answer a customer's question about an order in two sentences.
status: draft
owner: you
tags: [example]
model:
  use: @@MODEL@@
  params: {temperature: 0, max_tokens: 200}
inputs:
  question: {type: string, minLength: 1, maxLength: 2000}
messages:
  - system: |
      {% include "tone.j2" %}
      Answer in at most two sentences.
  - user: "{{ question }}"
tests:
  - name: mentions the refund window
    vars: {question: "How long do I have to return an item?"}
    assert:
      - {type: icontains, value: "30 days"}
      - {type: length, max: 400}
"""

TONE = "You are a friendly, concise support agent for Acme. Never invent policies.\n"
GITIGNORE = """\
.promptctl/
# signing keys: `promptctl keygen keys` writes here; the private key must never be committed
keys/*.key
promptctl-signing.key
"""
UNPINNED = (
    "'echo \"::error::pin how promptctl is installed: edit .github/workflows/promptctl.yml"
    " (see docs/install.md)\" && exit 1'"
)


def workflow_text(install: str | None) -> str:
    """The GitHub Actions workflow `init` writes (API keys from repository secrets);
    `install` is its install command (None: a step that fails until someone pins one)."""
    from importlib import resources

    template = resources.files("promptctl.cli") / "templates" / "github-workflow.yaml"
    step = UNPINNED if install is None else f'"{install}"'
    return template.read_text(encoding="utf-8").replace("@@INSTALL@@", step)


DEFAULT_MODEL = "openai/gpt-4o-mini"
# provider/model as `model.use` takes it, in characters a plain YAML value keeps as they are
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9._:@+/-]*")


def check_model(model: str) -> str:
    """`provider/model` as a prompt's `model.use` takes it (a UsageError otherwise)."""
    if not _MODEL.fullmatch(model):
        raise UsageError(
            f"--model {model!r} is not provider/model",
            hint="e.g. --model ollama/llama3.2:1b or --model anthropic/claude-haiku-4-5",
        )
    return model


def scaffold(directory: Path, install: str | None = None, model: str = DEFAULT_MODEL) -> list[Path]:
    """Write the skeleton, its example prompt and judge on `model`; refuses to touch an
    existing promptctl.yaml."""
    check_model(model)
    config = directory / "promptctl.yaml"
    if config.exists():
        raise UsageError(f"{config} already exists", hint="init only scaffolds new projects")
    files: dict[Path, str] = {
        config: CONFIG.replace("@@MODEL@@", model),
        directory / "prompts" / "example" / "answer.yaml": EXAMPLE.replace("@@MODEL@@", model),
        directory / "prompts" / "_partials" / "tone.j2": TONE,
        directory / "evals" / "datasets" / ".gitkeep": "",
        directory / ".gitignore": GITIGNORE,
        directory / ".github" / "workflows" / "promptctl.yml": workflow_text(install),
    }
    from promptctl.promptfile.schemas import schema_text

    for name in ("prompt", "config"):
        files[directory / "schemas" / f"{name}.schema.json"] = schema_text(name)
    written = []
    for path, text in files.items():
        if path.exists():
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        written.append(path)
    return written


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_cmd(
        directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path(),
        install_from: Annotated[
            str | None,
            typer.Option(
                "--install-from",
                help="Pinned source the CI workflow installs promptctl from: "
                "git+https://…/promptctl@COMMIT or a wheel URL with #sha256=… "
                "(default: where this copy came from, if pinned).",
            ),
        ] = None,
        model: Annotated[
            str,
            typer.Option(
                "--model",
                help="provider/model of the example prompt and of the judge, e.g. "
                "ollama/llama3.2:1b (a provider that is not built in needs its settings "
                "under providers: in promptctl.yaml).",
            ),
        ] = DEFAULT_MODEL,
    ) -> None:
        """Scaffold a prompt repository: config, an example prompt with tests, partials."""
        from promptctl.cli.install_pin import install_command
        from promptctl.promptfile.model import DEFAULT_PROVIDERS

        install = install_command(install_from)
        for path in scaffold(directory, install, model):
            typer.echo(f"created {path}")
        provider = model.split("/", 1)[0]
        if provider not in DEFAULT_PROVIDERS:
            example = f"{provider}: {{kind: openai-compatible, base_url: 'http://…/v1'}}"
            typer.echo(
                f"note: {provider!r} is not a built-in provider: add it under providers: in "
                f"promptctl.yaml, e.g. `{example}` (docs/config.md)"
            )
        here = directory.resolve() == Path.cwd().resolve()
        typer.echo(f"next: {'' if here else f'cd {directory} && '}promptctl lint && promptctl list")
        typer.echo(
            "CI: add your API keys as repository secrets; .github/workflows/promptctl.yml "
            "runs `promptctl ci --comment` on pull requests"
        )
        if install is None:
            typer.echo(
                "warning: the workflow cannot install promptctl yet: no pinned source is "
                "known (never `pip install promptctl`: that name on PyPI is another project); "
                "edit its install step (docs/install.md), or scaffold with "
                "--install-from git+https://…/promptctl@COMMIT",
                err=True,
            )
