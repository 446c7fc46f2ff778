"""Sandboxed Jinja2 rendering of a prompt into chat messages.

Imported by the runtime, so it depends on jinja2 and jsonschema only (no typer, rich,
gitpython or deepdiff). Templates are compiled once per source text and cached: the
runtime renders a bundled prompt in microseconds. Jinja itself (~12 ms to import) is
imported by the first template that needs it: plain text and `{{ name }}` messages are
answered without it (`_without_jinja`), so a run of such prompts never imports it.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from promptctl.errors import InputValidationError, PromptFileError, RenderError, SourceLocation
from promptctl.promptfile.chat import ChatMessage, ToolCall
from promptctl.promptfile.fast_validate import Check, compile_cached
from promptctl.promptfile.hashing import content_hash
from promptctl.promptfile.history import Spliced, fit_history
from promptctl.promptfile.model import MessageTemplate, Prompt, Target
from promptctl.promptfile.partials import inline_partials, safe_partial_name
from promptctl.promptfile.regex_safety import PatternError, RegexTimeout, bounded_validator
from promptctl.promptfile.sandbox_limits import MAX_OUTPUT_CHARS

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "compile_template",
    "content_hash",
    "environment",
    "inline_partials",
    "parse_template",
    "render_messages",
    "render_template",
    "validate_inputs",
]

_ENV_CACHE: dict[tuple[tuple[str, str], ...], SandboxedEnvironment] = {}
_TEMPLATE_CACHE: dict[tuple[int, str], jinja2.Template] = {}
# id(prompt.inputs) -> (inputs, the object schema of all inputs, compiled check or None,
# has a catastrophic `pattern`)
_VALIDATORS: dict[int, tuple[Mapping[str, Any], dict[str, Any], Check | None]] = {}


@functools.cache
def _partials_loader_class() -> Callable[[Mapping[str, str]], jinja2.BaseLoader]:
    import jinja2

    class PartialsLoader(jinja2.BaseLoader):
        """Serves `{% include %}` from a name->text table; never touches the filesystem."""

        def __init__(self, partials: Mapping[str, str]) -> None:
            self._partials = dict(partials)

        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str | None, Callable[[], bool] | None]:
            name = safe_partial_name(template)
            if name not in self._partials:
                known = ", ".join(sorted(self._partials)) or "none"
                raise RenderError(
                    f"partial {name!r} not found in prompts/_partials/", hint=f"known: {known}"
                )
            # Resolving includes statically first reports cycles before Jinja recurses.
            inline_partials('{% include "' + name + '" %}', self._partials)
            return self._partials[name], None, lambda: True

    return PartialsLoader


def environment(partials: Mapping[str, str] | None = None) -> SandboxedEnvironment:
    """The sandboxed environment for a partials table (one per distinct table)."""
    key = tuple(sorted((partials or {}).items()))
    env = _ENV_CACHE.get(key)
    if env is None:
        import jinja2

        from promptctl.promptfile.sandbox import LimitedSandbox

        env = LimitedSandbox(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            loader=_partials_loader_class()(partials or {}),
            auto_reload=False,
        )
        _ENV_CACHE[key] = env
    return env


def compile_template(source: str, env: SandboxedEnvironment | None = None) -> jinja2.Template:
    """Compile once per (environment, source); syntax errors become RenderError."""
    env = env or environment()
    key = (id(env), source)
    template = _TEMPLATE_CACHE.get(key)
    if template is None:
        import jinja2

        try:
            template = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"template syntax error on template line {exc.lineno}: {exc.message}"
            ) from None
        _TEMPLATE_CACHE[key] = template
    return template


def parse_template(
    source: str, env: SandboxedEnvironment | None = None
) -> tuple[nodes.Template, jinja2.Template]:
    """Parse once, compile from the same tree (lint needs both) and cache the template.

    Raises jinja2.TemplateSyntaxError, whose line number lint maps into the file.
    """
    env = env or environment()
    tree = env.parse(source)
    key = (id(env), source)
    template = _TEMPLATE_CACHE.get(key)
    if template is None:
        template = env.template_class.from_code(env, env.compile(tree), env.make_globals(None))
        _TEMPLATE_CACHE[key] = template
    return tree, template


def render_template(
    source: str, variables: Mapping[str, Any], env: SandboxedEnvironment | None = None
) -> str:
    """Render one template; every Jinja failure becomes a RenderError."""
    shortcut = _without_jinja(source, variables)
    if shortcut is not None:
        return shortcut
    import jinja2
    from jinja2.exceptions import SecurityError

    from promptctl.promptfile.sandbox import render_limited

    template = compile_template(source, env)
    try:
        return render_limited(template, variables)
    except SecurityError as exc:
        raise RenderError(
            f"sandbox refused: {exc}", hint="templates may not reach into Python internals"
        ) from None
    except jinja2.UndefinedError as exc:
        text = str(exc)
        if "unsafe" in text:
            raise RenderError(
                f"sandbox refused: {text}", hint="templates may not reach into Python internals"
            ) from None
        raise RenderError(
            f"undefined variable: {text}", hint="declare it under `inputs:`"
        ) from None
    except RecursionError:
        raise RenderError("include cycle (recursion limit reached)") from None
    except RenderError:
        raise
    except jinja2.TemplateError as exc:
        raise RenderError(f"template error: {exc}") from None
    except MemoryError:
        raise RenderError(
            "template ran out of memory", hint="see docs/prompt-format.md#limits"
        ) from None
    except Exception as exc:
        # a template is input: any filter may fail on what it is given (`truncate(-1)`
        # asserts, `"text"|dictsort` is an AttributeError); the template failed, whatever
        # the exception
        raise RenderError(f"template failed: {type(exc).__name__}: {exc}") from None


_ONE_VARIABLE = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*) *\}\}\n?")
_LITERALS = frozenset({"true", "false", "none", "True", "False", "None"})


def _without_jinja(source: str, variables: Mapping[str, Any]) -> str | None:
    """What Jinja renders for the commonest messages, without a template context each:
    plain text (no `{{`, `{%` nor `{#`: the text, less one trailing newline, as Jinja
    drops it) and `{{ name }}` of a string input (that string). None: ask Jinja."""
    if "{" not in source or ("{{" not in source and "{%" not in source and "{#" not in source):
        if "\r" in source:  # Jinja turns CR LF and CR into LF
            return None
        return source[:-1] if source.endswith("\n") else source
    match = _ONE_VARIABLE.fullmatch(source)
    if match is None or match.group(1) in _LITERALS:
        return None
    value = variables.get(match.group(1))
    if type(value) is not str or len(value) > MAX_OUTPUT_CHARS:
        return None  # Jinja's own str(), errors and limits
    return value


def _validator(prompt: Prompt) -> tuple[dict[str, Any], Check | None]:
    """The inputs' schema, and the same schema compiled (`fast_validate`) when it can be:
    its "valid" is trusted (a case: ~8 µs -> ~0.5 µs), jsonschema finds the error, so a
    run whose inputs are all valid never imports jsonschema (~50 ms, ~8 MB)."""
    cached = _VALIDATORS.get(id(prompt.inputs))
    if cached is not None and cached[0] is prompt.inputs:
        return cached[1], cached[2]
    from promptctl.promptfile.schema_refs import rebase_refs
    from promptctl.promptfile.schemas import check_schema

    for name, declared in prompt.inputs.items():
        problem = check_schema(declared)
        if problem:
            raise PromptFileError(
                f"{prompt.id}: input '{name}' is not a valid JSON Schema: {problem}",
                location=SourceLocation(prompt.path),
                hint="`promptctl lint` shows the line (PC013)",
            )
    schema = {
        "type": "object",
        # each input's `#/$defs/…` keeps pointing into its own schema
        "properties": {k: rebase_refs(v, ("properties", k)) for k, v in prompt.inputs.items()},
        "required": prompt.required_inputs(),
        "additionalProperties": False,
    }
    fast = compile_cached(schema)
    _VALIDATORS[id(prompt.inputs)] = (prompt.inputs, schema, fast)
    return schema, fast


def validate_inputs(prompt: Prompt, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs with defaults applied, validated against the prompt's input schema."""
    values = dict(inputs)
    for name, schema in prompt.inputs.items():
        if name not in values and "default" in schema:
            values[name] = copy.deepcopy(schema["default"])
    schema, fast = _validator(prompt)
    try:
        # every `pattern` runs under the regex time limit (a catastrophic one, lint PC110,
        # and a value from a test or an application's user), in any thread
        if fast is not None and fast(values):
            return values
        errors = sorted(
            bounded_validator(schema).iter_errors(values),
            # top-level first, and an unknown input (likely a typo) before the missing one
            key=lambda e: (
                len(e.path),
                e.validator != "additionalProperties",
                [str(p) for p in e.path],
            ),
        )
    except PatternError as exc:  # `re` took it at load (PC013), the bounded matcher not
        raise PromptFileError(
            f"{prompt.id}: an input's `pattern` does not compile: {exc}",
            location=SourceLocation(prompt.path),
            hint="write it in Python's `re` syntax; `promptctl lint` checks it",
        ) from None
    except RegexTimeout as exc:
        raise InputValidationError(
            f"{prompt.id}: an input's `pattern` ran longer than {exc.seconds:g}s on this "
            "value (catastrophic backtracking)",
            hint="make the pattern unambiguous: no repeat inside a repeat, (a+)+ (lint's "
            "PC110 shows those), nor overlapping alternatives in one, (a|aa)+",
        ) from None
    if not errors:
        return values
    error = errors[0]
    path = list(error.path)
    if error.validator == "required" and not path:
        name = str(error.message).split("'")[1]
        raise InputValidationError(
            f"{prompt.id}: missing required input '{name}'",
            hint=f"pass {name}=... or register a resolver for it",
            missing=name,
        )
    from promptctl.promptfile.schemas import did_you_mean, dotted

    if error.validator == "additionalProperties" and not path:
        extra = sorted(set(values) - set(prompt.inputs))
        guess = did_you_mean(extra[0], prompt.inputs) if extra else None
        raise InputValidationError(
            f"{prompt.id}: unknown input '{extra[0] if extra else '?'}'",
            hint=f"did you mean '{guess}'?" if guess else f"declared: {', '.join(prompt.inputs)}",
        )
    where = f"input '{path[0]}'" if path else "inputs"
    inner = dotted(path[1:]).lstrip(".")
    if inner:
        where += f" at {inner}"
    if error.validator == "required":
        key = str(error.message).split("'")[1] if "'" in error.message else error.message
        raise InputValidationError(f"{prompt.id}: {where}: missing required key '{key}'")
    import datetime  # (here: an error's path; the runtime's import stays lean)

    hint = None
    if isinstance(error.instance, datetime.date) and error.validator == "type":
        hint = f"YAML reads an unquoted {error.instance} as a date: quote it, '{error.instance}'"
    raise InputValidationError(f"{prompt.id}: {where} is invalid: {error.message}", hint=hint)


def _history(var: str, value: Any, prompt_id: str) -> list[ChatMessage]:
    """Earlier turns: `{role, content}`; an assistant turn may carry `tool_calls`
    (`[{id, name, arguments}]`, as `result.tool_calls` gives them) and a `tool` turn is a
    tool's result: `{role: tool, tool_call_id, content, name?}`."""
    if not isinstance(value, list):
        raise InputValidationError(f"{prompt_id}: input '{var}' must be a list of messages")
    out = []
    for i, item in enumerate(value):
        role = item.get("role") if isinstance(item, dict) else None
        content = item.get("content") if isinstance(item, dict) else None
        if role not in ("system", "user", "assistant", "tool") or not isinstance(content, str):
            if role == "assistant" and content is None and item.get("tool_calls"):
                content = ""
            else:
                raise InputValidationError(
                    f"{prompt_id}: input '{var}'[{i}] must be "
                    "{role: system|user|assistant|tool, content: str}"
                )
        out.append(_history_message(item, role, content, f"{prompt_id}: input '{var}'[{i}]"))
    return out


def _history_message(item: dict[str, Any], role: Any, content: str, where: str) -> ChatMessage:
    if role == "tool":
        call_id, name = item.get("tool_call_id"), item.get("name")
        if not isinstance(call_id, str) or not call_id or not isinstance(name, str | None):
            raise InputValidationError(
                f"{where}: a tool message needs tool_call_id (the id of the call it answers)",
                hint="{role: tool, tool_call_id: <result.tool_calls[n].id>, content: <result>}",
            )
        return ChatMessage("tool", content, tool_call_id=call_id, name=name)
    raw_calls = item.get("tool_calls") or []
    if raw_calls and role != "assistant":
        raise InputValidationError(f"{where}: only an assistant message carries tool_calls")
    calls = []
    for j, call in enumerate(raw_calls if isinstance(raw_calls, list) else [None]):
        ok = isinstance(call, dict) and all(isinstance(call.get(k), str) for k in ("id", "name"))
        arguments = call.get("arguments", {}) if isinstance(call, dict) else None
        if not ok or not isinstance(arguments, dict):
            raise InputValidationError(
                f"{where}.tool_calls[{j}] must be {{id: str, name: str, arguments: object}}"
            )
        calls.append(ToolCall(call["id"], call["name"], arguments))
    return ChatMessage(role, content, tool_calls=tuple(calls))


def render_messages(
    prompt: Prompt,
    inputs: Mapping[str, Any],
    *,
    target: Target | None = None,
    partials: Mapping[str, str] | None = None,
    validate: bool = True,
    spliced: Spliced | None = None,
) -> list[ChatMessage]:
    """Validate inputs, render each message, splice `history` entries (the newest whole
    turns within the entry's `max_tokens`/`max_messages`, when set).

    A fallback `target` with its own `messages` renders those instead. Without
    `partials` the templates must be self-contained (a bundle's are inlined).
    `spliced`, when given, receives where the history landed and what was left out.
    """
    values = validate_inputs(prompt, inputs) if validate else dict(inputs)
    templates: tuple[MessageTemplate, ...] = (
        target.messages if target is not None and target.messages is not None else prompt.messages
    )
    env = None  # built for the first message Jinja must render (most need none)
    out: list[ChatMessage] = []
    for message in templates:
        if message.history_var is not None:
            history = _history(message.history_var, values.get(message.history_var, []), prompt.id)
            if message.max_tokens is not None or message.max_messages is not None:
                history, dropped, tokens = fit_history(
                    history, max_tokens=message.max_tokens, max_messages=message.max_messages
                )
                if spliced is not None:
                    spliced.messages_dropped += dropped
                    spliced.tokens_dropped += tokens
            if spliced is not None:
                spliced.spans.append((len(out), len(out) + len(history)))
            out.extend(history)
            continue
        source = message.template or ""
        shortcut = _without_jinja(source, values)
        try:
            if shortcut is not None:
                text = shortcut
            else:
                env = env or environment(partials)
                text = render_template(source, values, env)
        except RenderError as exc:
            raise RenderError(exc.message, location=message.location, hint=exc.hint) from None
        out.append(ChatMessage(role=message.role or "user", content=text.strip()))
    return out
