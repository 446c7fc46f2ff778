"""Schema-valid prompt YAML -> the `Prompt` dataclasses, each part with its location.

Split from `loader`, which finds, reads and validates files and collects findings; this
module only builds (and, when an include cannot be resolved, finds the line to blame).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from promptctl.errors import RenderError, SourceLocation
from promptctl.promptfile.assertion_parse import bare_schema_problems
from promptctl.promptfile.chat import tools_of
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.model import (
    MessageTemplate,
    ModelConfig,
    OutputSpec,
    Project,
    Prompt,
    Route,
    Target,
)
from promptctl.promptfile.partials import inline_partials
from promptctl.promptfile.sources import FileSource
from promptctl.promptfile.testcases import parse_tests
from promptctl.promptfile.yaml_loader import LocatedYaml

__all__ = ["build_prompt", "default_id", "failing_include"]

Role = Literal["system", "user", "assistant"]


def default_id(path: Path, project: Project) -> str:
    """The id of a prompt file without `id:`: its path under prompts/, no suffix."""
    try:
        rel = path.relative_to(project.prompts_dir)
    except ValueError:
        rel = Path(path.name)
    return rel.with_suffix("").as_posix()


def failing_include(
    prompt: Prompt, partials: dict[str, str], doc: LocatedYaml
) -> SourceLocation | None:
    """Location of the first include that cannot be resolved (else its message)."""
    messages = [*prompt.messages, *(m for t in prompt.model.fallbacks for m in t.messages or ())]
    for message in messages:
        try:
            inline_partials(message.template or "", partials)
        except RenderError:
            return _failing_line(message, partials, doc)
    return prompt.messages[0].location if prompt.messages else None


def _failing_line(
    message: MessageTemplate, partials: dict[str, str], doc: LocatedYaml
) -> SourceLocation | None:
    loc = message.location
    if loc is None or loc.line is None:
        return loc
    block = any(doc.values.get(p) == (loc.line, loc.column) for p in doc.block_scalars)
    for i, line in enumerate((message.template or "").splitlines()):
        if "include" not in line:
            continue
        try:
            inline_partials(line, partials)
        except RenderError:
            if not block and i == 0:
                return loc
            return SourceLocation(loc.path, loc.line + i + (1 if block else 0))
    return loc


def _messages(raw: list[dict[str, Any]], doc: LocatedYaml, ptr: str) -> tuple[MessageTemplate, ...]:
    out = []
    for i, entry in enumerate(raw):
        if "history" in entry:
            loc = doc.locate(f"{ptr}/{i}/history")
            out.append(
                MessageTemplate(
                    role=None,
                    history_var=entry["history"],
                    location=loc,
                    max_tokens=entry.get("max_tokens"),
                    max_messages=entry.get("max_messages"),
                )
            )
            continue
        ((key, value),) = entry.items()
        loc = doc.locate(f"{ptr}/{i}/{key}")
        role: Role = "system" if key == "system" else "user" if key == "user" else "assistant"
        out.append(MessageTemplate(role=role, template=value, location=loc))
    return tuple(out)


def build_prompt(
    data: dict[str, Any],
    doc: LocatedYaml,
    path: Path,
    project: Project,
    src: FileSource,
    diags: list[Diagnostic],
) -> Prompt:
    """The `Prompt` of schema-valid `data`; test findings go to `diags`."""
    model = data["model"]
    fallbacks = []
    for i, fb in enumerate(model.get("fallbacks", ())):
        loc = doc.locate(f"/model/fallbacks/{i}")
        if isinstance(fb, str):
            fallbacks.append(Target(use=fb, location=loc))
            continue
        msgs = fb.get("messages")
        fallbacks.append(
            Target(
                use=fb["use"],
                params=fb.get("params", {}),
                messages=_messages(msgs, doc, f"/model/fallbacks/{i}/messages") if msgs else None,
                location=loc,
            )
        )
    routes = tuple(
        Route(when=r["when"], use=r["use"], location=doc.locate(f"/model/routes/{i}"))
        for i, r in enumerate(model.get("routes", ()))
    )
    output = data.get("output", {})
    tests = parse_tests(
        data.get("tests", []),
        doc.locate,
        path,
        project,
        src,
        diags,
        declared=data.get("inputs") or {},
    )
    bare_schema_problems(tests, output.get("schema"), diags)
    return Prompt(
        id=data.get("id") or default_id(path, project),
        version=str(data.get("version", "")),
        path=path,
        model=ModelConfig(
            use=model["use"],
            params=model.get("params", {}),
            fallbacks=tuple(fallbacks),
            routes=routes,
        ),
        messages=_messages(data["messages"], doc, "/messages"),
        description=data.get("description", ""),
        status=data.get("status", "draft"),
        owner=data.get("owner"),
        tags=tuple(data.get("tags", ())),
        inputs=data.get("inputs", {}),
        output=OutputSpec(format=output.get("format", "text"), schema=output.get("schema")),
        tests=tests,
        raw=data,
        tools=tools_of(data.get("tools") or ()),
        tool_choice=data.get("tool_choice"),
    )
