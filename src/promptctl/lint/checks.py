"""Rules about schemas, tests, targets, metadata and the context window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.errors import InputValidationError, RenderError, SourceLocation
from promptctl.lint.tool_checks import check_tools, strict_output
from promptctl.plan.call import plan_call
from promptctl.promptfile.context_windows import context_window, estimate_tokens
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.loader import FileLoad
from promptctl.promptfile.model import Project, Prompt, TestCase
from promptctl.promptfile.regex_safety import REGEX_TIMEOUT_S, catastrophic_schema_patterns
from promptctl.promptfile.rules import finding
from promptctl.promptfile.schemas import did_you_mean, located, schema_problem
from promptctl.promptfile.yaml_loader import pointer
from promptctl.providers.base import load_adapter
from promptctl.providers.lifecycle import describe, status, today
from promptctl.render import validate_inputs

__all__ = ["check_prompt"]


def _loc(loaded: FileLoad, ptr: str, *, key: bool = False) -> SourceLocation | None:
    return loaded.doc.locate(ptr, key=key) if loaded.doc else None


def check_prompt(
    loaded: FileLoad, prompt: Prompt, project: Project, inlined: Prompt | None
) -> list[Diagnostic]:
    """Every non-template rule for one prompt.

    `inlined` is the prompt with partials inlined (None when a template is broken):
    tests render with it, so each template is compiled once for the whole lint run.
    """
    diags: list[Diagnostic] = []
    schemas_ok = True
    for name, schema in prompt.inputs.items():
        problem = schema_problem(schema)
        if problem:
            schemas_ok = False
            diags.append(
                finding(
                    "PC013",
                    f"input '{name}' is not a valid JSON Schema: {located(*problem)}",
                    _loc(loaded, f"/inputs/{name}{pointer(list(problem[0]))}"),
                )
            )
    if prompt.output.schema is not None and prompt.output.format == "text":
        diags.append(
            finding(
                "PC113",
                "output.schema is set but output.format is text: the schema is never sent "
                "to the model, so the answer is free text",
                _loc(loaded, "/output/schema"),
                "add `format: json` under `output:` (then the schema is sent as the "
                "provider's structured output)",
            )
        )
    if prompt.output.schema is not None:
        problem = schema_problem(prompt.output.schema)
        if problem:
            diags.append(
                finding(
                    "PC013",
                    f"output.schema is not a valid JSON Schema: {located(*problem)}",
                    _loc(loaded, f"/output/schema{pointer(list(problem[0]))}"),
                )
            )
    elif prompt.output.format == "json":
        diags.append(
            finding(
                "PC105",
                "output.format is json but there is no output.schema",
                _loc(loaded, "/output/format"),
                "add a schema so evals and the runtime can validate the answer",
            )
        )
    diags.extend(check_tools(loaded, prompt))
    diags.extend(_schema_patterns(loaded, prompt))
    diags.extend(strict_output(loaded, prompt, project))
    diags.extend(_targets(loaded, prompt, project))
    diags.extend(_param_typos(loaded, prompt))
    diags.extend(_unsupported_params(loaded, prompt, project))
    diags.extend(_metadata(loaded, prompt))
    diags.extend(_history_budgets(prompt))
    if schemas_ok:
        diags.extend(_tests(prompt, inlined))
    return diags


def _schema_patterns(loaded: FileLoad, prompt: Prompt) -> list[Diagnostic]:
    """PC110 for a schema `pattern` that can backtrack exponentially: inputs come from
    users and tests, answers and tool arguments from the model."""
    schemas: list[tuple[str, Any]] = [(f"/inputs/{n}", s) for n, s in prompt.inputs.items()]
    if prompt.output.schema is not None:
        schemas.append(("/output/schema", prompt.output.schema))
    schemas += [(f"/tools/{i}/parameters", t.parameters) for i, t in enumerate(prompt.tools)]
    out: list[Diagnostic] = []
    for base, schema in schemas:
        for ptr, pattern in catastrophic_schema_patterns(schema, base):
            out.append(
                finding(
                    "PC110",
                    f"pattern {pattern!r} nests a repeat inside a repeat: matching can take "
                    f"exponential time (each check is stopped after {REGEX_TIMEOUT_S:g}s, and "
                    "the value counts as invalid)",
                    _loc(loaded, ptr),
                    "make the inner part unambiguous, e.g. (a+)+ -> a+, or use a "
                    "possessive repeat (a++)",
                )
            )
    return out


def _targets(loaded: FileLoad, prompt: Prompt, project: Project) -> list[Diagnostic]:
    uses = [(prompt.model.use, "/model/use")]
    uses += [(t.use, f"/model/fallbacks/{i}") for i, t in enumerate(prompt.model.fallbacks)]
    uses += [(r.use, f"/model/routes/{i}/use") for i, r in enumerate(prompt.model.routes)]
    out = _lifecycle(loaded, uses, project, prompt.id)
    for use, ptr in uses:
        provider = use.split("/", 1)[0]
        if provider in project.providers:
            continue
        guess = did_you_mean(provider, project.providers)
        out.append(
            finding(
                "PC017",
                f"unknown provider '{provider}' in '{use}'",
                _loc(loaded, ptr),
                f"did you mean '{guess}'?"
                if guess
                else "configure it under `providers:` in promptctl.yaml",
            )
        )
    return out


def _lifecycle(
    loaded: FileLoad, uses: list[tuple[str, str]], project: Project, prompt_id: str
) -> list[Diagnostic]:
    """PC023 past a model's shutdown date, PC109 within `lifecycle.warn_days` of it."""
    day = today()
    out = []
    for use, ptr in uses:
        state, row = status(use, project, day)
        if row is None or state not in ("retired", "retiring"):
            continue
        retired = state == "retired"
        check = (
            f"check it with `promptctl compare {prompt_id} --candidates {row.replacement}`; "
            if row.replacement
            else "move to an active model; "
        )
        out.append(
            finding(
                "PC023" if retired else "PC109",
                describe(row, day) + (": calls to it fail" if retired else ""),
                _loc(loaded, ptr),
                f"{check}source: {row.source}",
            )
        )
    return out


_KNOWN_PARAMS = ("temperature", "top_p", "max_tokens", "seed", "stop", "stream")


def _param_typos(loaded: FileLoad, prompt: Prompt) -> list[Diagnostic]:
    """Unknown params pass through to the provider: flag only near-misses of known ones."""
    sets = [("/model/params", prompt.model.params)]
    sets += [
        (f"/model/fallbacks/{i}/params", t.params) for i, t in enumerate(prompt.model.fallbacks)
    ]
    out = []
    for ptr, params in sets:
        for key in params:
            guess = None if key in _KNOWN_PARAMS else did_you_mean(key, _KNOWN_PARAMS)
            if guess:
                out.append(
                    finding(
                        "PC108",
                        f"unknown param '{key}' is passed to the provider as is",
                        _loc(loaded, f"{ptr}/{key}", key=True),
                        f"did you mean '{guess}'?",
                    )
                )
    return out


def _unsupported_params(loaded: FileLoad, prompt: Prompt, project: Project) -> list[Diagnostic]:
    """PC025: a param a target's wire refuses (the Responses API has no `stop`, `seed`),
    found here rather than as a failed call of every test case."""
    base = prompt.model.params
    targets: list[tuple[str, Mapping[str, Any], str]] = [(prompt.model.use, {}, "")]
    targets += [
        (t.use, t.params, f"/model/fallbacks/{i}") for i, t in enumerate(prompt.model.fallbacks)
    ]
    targets += [(r.use, {}, "") for r in prompt.model.routes]
    out = []
    for use, own, ptr in targets:
        settings = project.providers.get(use.split("/", 1)[0])
        if settings is None:
            continue  # PC017 says so
        for key in load_adapter(settings.kind).unsupported_params:
            value = own.get(key, base.get(key))
            if value is None or value in ([], ""):
                continue
            where = f"{ptr}/params/{key}" if key in own else f"/model/params/{key}"
            out.append(
                finding(
                    "PC025",
                    f"'{key}' is not supported by {use} ({settings.kind}): its calls would fail",
                    _loc(loaded, where, key=True),
                    f"remove '{key}' from the params of that target",
                )
            )
    return out


def _metadata(loaded: FileLoad, prompt: Prompt) -> list[Diagnostic]:
    out = []
    top = SourceLocation(prompt.path, 1, 1)
    if not prompt.description.strip():
        out.append(
            finding(
                "PC103",
                "prompt has no description",
                top,
                "add `description:` saying what it does",
            )
        )
    if not prompt.tests:
        if prompt.status == "approved":
            out.append(
                finding(
                    "PC104",
                    "prompt is approved but has no tests",
                    _loc(loaded, "/status"),
                    "add `tests:` before approving",
                )
            )
        else:
            out.append(finding("PC102", "prompt has no tests", top, "add `tests:`"))
    return out


def _history_budgets(prompt: Prompt) -> list[Diagnostic]:
    """PC111: a history with no `max_tokens`/`max_messages` is only cut at the window."""
    messages = [*prompt.messages, *(m for f in prompt.model.fallbacks for m in f.messages or ())]
    return [
        finding(
            "PC111",
            f"history '{m.history_var}' has no budget: each call sends all of it, trimmed "
            "only when the request outgrows the model's window",
            m.location,
            "add max_tokens: and/or max_messages: to bound cost and latency",
        )
        for m in messages
        if m.history_var is not None and m.max_tokens is None and m.max_messages is None
    ]


def _tests(prompt: Prompt, inlined: Prompt | None) -> list[Diagnostic]:
    out = []
    for test in prompt.tests:
        try:
            values = validate_inputs(prompt, test.vars)
        except InputValidationError as exc:
            msg = exc.message.removeprefix(f"{prompt.id}: ")
            out.append(finding("PC014", f"test '{test.name}': {msg}", test.location, exc.hint))
            continue
        if inlined is not None:
            out.extend(_plan_test(inlined, test, values))
    return out


def _plan_test(prompt: Prompt, test: TestCase, values: dict[str, Any]) -> list[Diagnostic]:
    """PC019/PC106 for one test over its call plan: the requests `promptctl test` would
    send (routed target, then each fallback, own messages rendered), as the runtime does."""
    try:
        plan = plan_call(prompt, values, validate=False, fit=False)
    except (RenderError, InputValidationError) as exc:
        fallback = next(
            (
                f
                for f in prompt.model.fallbacks
                if f.messages and any(m.location == exc.location for m in f.messages)
            ),
            None,
        )
        where = f" on fallback {fallback.use}" if fallback else ""
        at = (exc.location or fallback.location) if fallback else test.location
        return [
            finding(
                "PC019",
                f"test '{test.name}' does not render{where}: {exc.message}",
                at,
                exc.hint,
            )
        ]
    out = []
    for i, (target, request) in enumerate(zip(plan.targets, plan.chain, strict=True)):
        window = context_window(target.use)
        if window is None:
            continue
        tokens = sum(estimate_tokens(m.content) for m in request.messages)
        tokens += request.max_tokens or 0
        if tokens <= window:
            continue
        out.append(
            finding(
                "PC106",
                f"test '{test.name}' needs about {tokens:,} tokens "
                f"(incl. max_tokens), over {target.use}'s {window:,}",
                (target.location if i else None) or test.location,
                "shorten the inputs or pick a model with a larger window",
            )
        )
    return out
