"""Rules about `tools:`, `tool_choice` and OpenAI's strict structured outputs.

PC013: a tool's `parameters` is not a valid JSON Schema (located at the offending
keyword, not just the tool). PC024: a tool set the providers refuse or cannot mean what
it says (a repeated name, a name reserved for structured output, parameters that are
not an object schema, `tool_choice` or a test's `tool_results` naming no tool).
PC112: an output schema OpenAI cannot take strictly, on a prompt one of whose targets
speaks OpenAI's wire.
"""

from __future__ import annotations

from promptctl.errors import SourceLocation
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.loader import FileLoad
from promptctl.promptfile.model import Project, Prompt
from promptctl.promptfile.rules import finding
from promptctl.promptfile.schema_refs import ref_problem
from promptctl.promptfile.schemas import did_you_mean, located
from promptctl.promptfile.yaml_loader import pointer
from promptctl.providers.anthropic import OUTPUT_TOOL
from promptctl.providers.openai_strict import strict_problem

__all__ = ["check_tools", "strict_output"]

_CHOICES = ("auto", "none", "required")
_OPENAI_WIRES = ("openai", "azure", "openai-compatible")


def _loc(loaded: FileLoad, ptr: str, *, key: bool = False) -> SourceLocation | None:
    return loaded.doc.locate(ptr, key=key) if loaded.doc else None


def check_tools(loaded: FileLoad, prompt: Prompt) -> list[Diagnostic]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    out: list[Diagnostic] = []
    seen: set[str] = set()
    for i, tool in enumerate(prompt.tools):
        here = f"/tools/{i}"
        if tool.name in seen:
            out.append(
                finding(
                    "PC024",
                    f"tool '{tool.name}' is declared twice",
                    _loc(loaded, f"{here}/name"),
                    "give each tool its own name",
                )
            )
        seen.add(tool.name)
        if tool.name == OUTPUT_TOOL:
            out.append(
                finding(
                    "PC024",
                    f"tool name '{OUTPUT_TOOL}' is reserved for structured output",
                    _loc(loaded, f"{here}/name"),
                    "rename the tool",
                )
            )
        try:
            Draft202012Validator.check_schema(tool.parameters)
            problem = ref_problem(tool.parameters)
        except SchemaError as exc:
            problem = tuple(exc.absolute_path), exc.message
        if problem is not None:
            path, message = problem
            out.append(
                finding(
                    "PC013",
                    f"tool '{tool.name}' parameters is not a valid JSON Schema: "
                    f"{located(path, message)}",
                    _loc(loaded, f"{here}/parameters{pointer(list(path))}"),
                )
            )
            continue
        if tool.parameters.get("type") != "object":
            out.append(
                finding(
                    "PC024",
                    f"tool '{tool.name}' parameters must be a schema of `type: object`",
                    _loc(loaded, f"{here}/parameters"),
                    "write `parameters: {type: object, properties: {...}}`",
                )
            )
    for i, entry in enumerate(prompt.raw.get("tests") or ()):
        results = entry.get("tool_results") if isinstance(entry, dict) else None
        for name in results or ():
            if name not in seen:
                guess = did_you_mean(name, seen)
                out.append(
                    finding(
                        "PC024",
                        f"tests[{i}].tool_results: '{name}' is not a declared tool",
                        _loc(loaded, f"/tests/{i}/tool_results/{name}", key=True),
                        f"did you mean '{guess}'?" if guess else "declare it under `tools:`",
                    )
                )
    for test in prompt.tests if seen else ():
        for spec in test.asserts:
            name = spec.value if isinstance(spec.value, str) else spec.options.get("name")
            if spec.type == "tool-call" and not spec.negate and name and name not in seen:
                guess = did_you_mean(name, seen)
                out.append(
                    finding(
                        "PC016",
                        f"test '{test.name}': tool-call '{name}' is not a declared tool",
                        spec.location,
                        f"did you mean '{guess}'?" if guess else "declare it under `tools:`",
                    )
                )
    choice = prompt.tool_choice
    if choice is not None and not seen:
        out.append(
            finding(
                "PC024",
                "tool_choice without tools",
                _loc(loaded, "/tool_choice"),
                "declare the tools under `tools:`, or remove tool_choice",
            )
        )
    elif choice is not None and choice not in _CHOICES and choice not in seen:
        names = [*_CHOICES, *seen]
        guess = did_you_mean(choice, names)
        out.append(
            finding(
                "PC024",
                f"tool_choice '{choice}' is not auto, none, required or a declared tool",
                _loc(loaded, "/tool_choice"),
                f"did you mean '{guess}'?" if guess else f"one of: {', '.join(names)}",
            )
        )
    return out


def strict_output(loaded: FileLoad, prompt: Prompt, project: Project) -> list[Diagnostic]:
    """PC112 for an output schema OpenAI gets with `strict: false` (see openai_strict)."""
    schema = prompt.output.schema
    if prompt.output.format != "json" or schema is None:
        return []
    uses = [prompt.model.use, *(t.use for t in prompt.model.fallbacks)]
    uses += [r.use for r in prompt.model.routes]
    kinds = {
        project.providers[u.split("/", 1)[0]].kind
        for u in uses
        if u.split("/", 1)[0] in project.providers
    }
    if not kinds & set(_OPENAI_WIRES):
        return []
    problem = strict_problem(schema)
    if problem is None:
        return []
    return [
        finding(
            "PC112",
            f"output.schema is not strict-compatible ({problem}): OpenAI gets it with "
            "strict: false, so the answer may not match it",
            _loc(loaded, "/output/schema"),
            "give every object `additionalProperties: false` and list all its properties "
            'in `required` (an optional one becomes `type: [string, "null"]`), and use '
            "only keywords strict mode supports (docs/lint-rules.md#pc112)",
        )
    ]
