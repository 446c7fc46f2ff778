"""`promptctl render ID`: print the messages a prompt renders to.

The messages, target and (with `--format json`) request body come from the call plan
(`promptctl.plan.call.plan_call`), the one the runtime and `promptctl test` use."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from promptctl.cli._common import ProjectOption, check_choice, console, resolve_project
from promptctl.errors import InputValidationError, PromptFileError, ProviderError, UsageError

if TYPE_CHECKING:
    from promptctl.plan.request import ChatRequest
    from promptctl.promptfile.loader import LoadResult
    from promptctl.promptfile.model import Project, Prompt


def _parse_var(raw: str, schema: Any) -> tuple[str, Any]:
    """`k=v`; v is JSON (numbers, lists, objects) unless the input is declared a string."""
    if "=" not in raw:
        raise UsageError(
            f"--var {raw!r} is not KEY=VALUE",
            hint=f"write it as --var {raw or 'name'}=VALUE",
        )
    key, value = raw.split("=", 1)
    if isinstance(schema, dict) and schema.get("type") == "string":
        return key, value
    try:
        return key, json.loads(value)
    except RecursionError:
        raise UsageError(f"--var {key}: the value is nested too deeply") from None
    except ValueError:  # not JSON (or a number of over 4,300 digits): read as YAML or text
        from promptctl.promptfile.yaml_loader import load_yaml

        try:  # the prompt files' loader: bounded (an alias bomb is refused), no NaN
            parsed = load_yaml(value, Path(f"--var {key}"), require_mapping=False).data
        except PromptFileError:
            return key, value
        # YAML only for lists/maps like [a, b]; never its `yes` -> True or date magic
        return key, parsed if isinstance(parsed, list | dict) else value


def _is_pipe(path: Path) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _read_vars(path: Path) -> dict[str, Any]:
    """A --vars file: YAML or JSON, read by the prompt files' loader (libyaml's parser,
    errors at line:column, alias bombs and NaN refused; PyYAML's pure-Python
    `safe_load` took ~0.2 s for a 300-turn history)."""
    from promptctl.promptfile.safe_io import read_file
    from promptctl.promptfile.yaml_loader import load_yaml

    try:
        raw = _stdin_bytes() if str(path) == "-" else read_file(path, root=None, what="--vars file")
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except OSError as exc:
        if _is_pipe(path):  # `--vars <(cmd)`: /dev/fd/N resolves to no file
            raise UsageError(
                f"--vars {path} is a pipe (a process substitution?), not a file",
                hint="pipe the data into standard input instead: cmd | promptctl render … --vars -",
            ) from None
        raise UsageError(f"cannot read --vars {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--vars {path} is not UTF-8 text") from None
    hint = "write a mapping of input names to values"
    where = Path("<stdin>") if str(path) == "-" else path
    data = load_yaml(text, where, require_mapping=False, empty_hint=hint).data
    if not isinstance(data, dict):
        raise UsageError(f"--vars {path} must hold a mapping of input names to values", hint=hint)
    return data


def _stdin_bytes() -> bytes:
    """`--vars -`: the inputs from standard input (`… | promptctl render p --vars -`),
    under the same size cap as a file."""
    import sys

    from promptctl.promptfile.safe_io import MAX_FILE_BYTES

    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"--vars -: standard input is over the {MAX_FILE_BYTES:,}-byte limit")
    return data


def _wire(project: Project, request: ChatRequest) -> dict[str, Any] | None:
    """The first request as its provider receives it: path and JSON body (no headers, so
    no key). The body is the same object the gateway encodes and sends. None when the
    provider is not configured (lint says PC017): there is no wire format to show."""
    from urllib.parse import urlsplit

    from promptctl.providers.base import load_adapter

    settings = project.providers.get(request.provider)
    if settings is None:
        return None
    wire = load_adapter(settings.kind).build_request(request, settings, None)
    return {"method": "POST", "path": urlsplit(wire.url).path, "body": wire.body}


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render_cmd(
        prompt_id: Annotated[str, typer.Argument(metavar="ID", help="Prompt id.")],
        var: Annotated[
            list[str] | None, typer.Option("--var", help="Input KEY=VALUE (repeatable).")
        ] = None,
        vars_file: Annotated[
            Path | None, typer.Option("--vars", help="YAML or JSON file of inputs (-: stdin).")
        ] = None,
        test: Annotated[str | None, typer.Option(help="Start from this test's vars.")] = None,
        target: Annotated[
            str | None, typer.Option(help="Render as `test --target` runs (provider/model).")
        ] = None,
        output_format: Annotated[str, typer.Option("--format", "-f", help="text | json")] = "text",
        project: ProjectOption = None,
    ) -> None:
        """Render a prompt's messages with the given inputs."""
        check_choice(output_format, ("text", "json"))
        from promptctl.plan.call import plan_call

        proj = resolve_project(project)
        loaded, prompt = _load_one(proj, prompt_id)
        values: dict[str, Any] = {}
        if test is not None:
            match = [t for t in prompt.tests if t.name == test]
            if not match:
                names = ", ".join(t.name for t in prompt.tests) or "none"
                raise UsageError(f"{prompt_id} has no test {test!r}", hint=f"tests: {names}")
            values.update(match[0].vars)
        if vars_file is not None:
            values.update(_read_vars(vars_file))
        for raw in var or ():
            key, value = _parse_var(raw, prompt.inputs.get(raw.split("=", 1)[0]))
            values[key] = value
        if target is not None:
            from promptctl.evals.options import check_targets

            check_targets(proj, [target])  # as `promptctl test --target` checks it
        try:
            plan = plan_call(prompt, values, target=target, partials=loaded.partials)
        except InputValidationError as exc:
            if exc.missing is None:
                raise
            hint = f"pass it: --var {exc.missing}=... (or --vars FILE, --test NAME)"
            raise InputValidationError(exc.message, hint=hint, missing=exc.missing) from None
        except ProviderError as exc:
            if exc.kind != "context_length":
                raise
            # nothing was sent: inputs too long for every window are bad input (exit 2)
            raise InputValidationError(exc.message, hint=exc.hint) from None
        messages = plan.messages
        if output_format == "json":
            doc = {
                "prompt": prompt.id,
                "version": prompt.version,
                "content_hash": prompt.content_hash,
                "target": plan.request.target,
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "request": _wire(proj, plan.request),
            }
            from promptctl.report.safe_text import write_data

            write_data(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return
        from rich.markup import escape

        out = console()
        for m in messages:
            out.rule(f"[bold]{m.role}[/bold]", align="left", characters="─")
            out.print(escape(m.content))


def _load_one(project: Project, prompt_id: str) -> tuple[LoadResult, Prompt]:
    """The prompt `prompt_id` names (an id or a file), parsing only the files that may be
    it; when none is, everything is loaded for the "did you mean" of the error."""
    from glob import escape

    from promptctl.promptfile.loader import load_prompts

    loaded = load_prompts(project, id_globs=[escape(prompt_id)])
    try:
        return loaded, loaded.get(prompt_id)
    except UsageError:
        loaded = load_prompts(project)
        return loaded, loaded.get(prompt_id)
