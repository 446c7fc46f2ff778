"""Template rules: syntax, undeclared and unused variables, secrets, delimiters."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import jinja2
from jinja2 import nodes, sandbox

from promptctl.errors import RenderError, SourceLocation
from promptctl.plan.routing import RouteError, compile_when
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.loader import FileLoad
from promptctl.promptfile.model import MessageTemplate, Prompt
from promptctl.promptfile.partials import inline_partials
from promptctl.promptfile.rules import finding
from promptctl.promptfile.schemas import did_you_mean
from promptctl.render import environment, parse_template

__all__ = [
    "SECRET_PATTERNS",
    "TemplateCheck",
    "check_templates",
    "find_secrets",
    "secret_diagnostic",
]

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("GitHub token", re.compile(r"\b(?:ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{30,}")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
_OPENERS = ('"', "'", "`", "[", "(", "«", ">")
_TAG_BEFORE = re.compile(r"<[A-Za-z_][\w-]*>\s*$")


def _all_messages(prompt: Prompt) -> Iterator[MessageTemplate]:
    yield from prompt.messages
    for fallback in prompt.model.fallbacks:
        yield from fallback.messages or ()


def _line_of(loaded: FileLoad, msg: MessageTemplate, template_line: int) -> SourceLocation | None:
    """File location of line `template_line` (1-based) of a message's template."""
    loc = msg.location
    if loc is None or loc.line is None:
        return loc
    block = loaded.doc is not None and any(
        loaded.doc.values.get(p) == (loc.line, loc.column) for p in loaded.doc.block_scalars
    )
    if not block and template_line == 1:
        return loc  # the template starts on the key's line: keep its column
    return SourceLocation(loc.path, loc.line + template_line - (0 if block else 1))


_UNKNOWN_NAME = re.compile(r"No (filter|test) named '([^']+)'")


def _unknown_name_hint(message: str, env: jinja2.Environment) -> str | None:
    """`{{ x | uppr }}` -> did you mean 'upper'? (Jinja only says the name is unknown)."""
    match = _UNKNOWN_NAME.search(message)
    if match is None:
        return None
    known = env.filters if match[1] == "filter" else env.tests
    guess = did_you_mean(match[2], known)
    return f"did you mean '{guess}'?" if guess else None


_UNSAFE_NAMES = frozenset(
    {"mro"}
    | sandbox.UNSAFE_FUNCTION_ATTRIBUTES
    | sandbox.UNSAFE_METHOD_ATTRIBUTES
    | sandbox.UNSAFE_GENERATOR_ATTRIBUTES
    | sandbox.UNSAFE_COROUTINE_ATTRIBUTES
    | sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)


def _unsafe_names(tree: nodes.Template) -> list[str]:
    """Attributes the sandbox refuses at render time, found without rendering."""
    found: list[str] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            name: object = node.attr
        elif isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        else:
            assert isinstance(node, nodes.Filter)
            first = node.args[0] if node.name == "attr" and node.args else None
            name = first.value if isinstance(first, nodes.Const) else None
        if isinstance(name, str) and (name.startswith("_") or name in _UNSAFE_NAMES):
            found.append(name)
    return found


_IMPLICIT = frozenset({"loop", "self", "super", "caller", "varargs", "kwargs"})


def _undeclared(tree: nodes.Template) -> set[str]:
    """Names a template reads but never assigns (cheaper than jinja2.meta's codegen)."""
    loads: set[str] = set()
    stores: set[str] = set()
    for name in tree.find_all(nodes.Name):
        (loads if name.ctx == "load" else stores).add(name.name)
    return loads - stores - _IMPLICIT


def _undeclared_inputs(
    names: set[str], prompt: Prompt, where: str, location: SourceLocation | None
) -> Iterator[Diagnostic]:
    """PC011 for each name that `where` reads but `inputs:` does not declare."""
    for name in sorted(names - set(prompt.inputs)):
        guess = did_you_mean(name, prompt.inputs)
        yield finding(
            "PC011",
            f"variable '{name}' is used in {where} but not declared",
            location,
            f"did you mean '{guess}'?" if guess else f"add `{name}:` under `inputs:`",
        )


@dataclass
class TemplateCheck:
    """Findings, the variables used, and the prompt with partials inlined (if sound)."""

    diagnostics: list[Diagnostic]
    used: set[str]
    inlined: Prompt | None


def _inline_all(
    messages: tuple[MessageTemplate, ...], table: dict[tuple[int, str], str]
) -> tuple[MessageTemplate, ...]:
    return tuple(
        dataclasses.replace(m, template=table[(id(m), m.template)]) if m.template is not None else m
        for m in messages
    )


def check_templates(loaded: FileLoad, prompt: Prompt, partials: Mapping[str, str]) -> TemplateCheck:
    """Template findings; `inlined` is None when a template is broken."""
    env = environment()
    known_globals = set(env.globals)
    diags: list[Diagnostic] = []
    used: set[str] = {m.history_var for m in _all_messages(prompt) if m.history_var}
    sources: dict[tuple[int, str], str] = {}
    sound = True
    for msg in _all_messages(prompt):
        if msg.template is None:
            continue
        diags.extend(_secrets(loaded, msg, msg.template))
        try:
            source = inline_partials(msg.template, partials)
        except RenderError:
            sound = False
            continue  # reported by the loader (PC012)
        sources[(id(msg), msg.template)] = source
        try:
            ast, _ = parse_template(source, env)
        except jinja2.TemplateSyntaxError as exc:
            sound = False
            diags.append(
                finding(
                    "PC010",
                    f"template syntax error: {exc.message}",
                    _line_of(loaded, msg, exc.lineno),
                    _unknown_name_hint(str(exc.message), env),
                )
            )
            continue
        unsafe = ", ".join(f"'{n}'" for n in dict.fromkeys(_unsafe_names(ast)))
        if unsafe:
            diags.append(
                finding(
                    "PC009",
                    f"a {msg.role} message reads {unsafe}, which the sandbox refuses",
                    msg.location,
                    "templates may not reach into Python internals",
                )
            )
        names = _undeclared(ast) - known_globals
        used |= names
        diags.extend(_undeclared_inputs(names, prompt, f"a {msg.role} message", msg.location))
        if msg.role == "system":
            free_text = {n for n in names & set(prompt.inputs) if _is_free_text(prompt.inputs[n])}
            diags.extend(_undelimited(msg, source, free_text))
    for route in prompt.model.routes:
        try:
            # The compile the router runs: whatever lint accepts, routing accepts.
            compile_when(route.when, route.location)
            names = _undeclared(env.parse("{{ (" + route.when + ") }}")) - known_globals
        except RouteError as exc:
            diags.append(
                finding("PC010", f"route `when` syntax error: {exc.detail}", route.location)
            )
            continue
        used |= names
        diags.extend(_undeclared_inputs(names, prompt, "a route `when`", route.location))
    for name in prompt.inputs if sound else ():
        if name not in used:
            loc = loaded.doc.locate(f"/inputs/{name}", key=True) if loaded.doc else None
            diags.append(
                finding(
                    "PC101",
                    f"input '{name}' is declared but no template uses it",
                    loc,
                    "remove it, or use it in a message",
                )
            )
    if any(d.is_error for d in diags) or not sound:
        return TemplateCheck(diags, used, None)
    inlined = dataclasses.replace(
        prompt,
        messages=_inline_all(prompt.messages, sources),
        model=dataclasses.replace(
            prompt.model,
            fallbacks=tuple(
                dataclasses.replace(t, messages=_inline_all(t.messages, sources))
                if t.messages is not None
                else t
                for t in prompt.model.fallbacks
            ),
        ),
    )
    return TemplateCheck(diags, used, inlined)


def _is_free_text(schema: Mapping[str, object]) -> bool:
    """Strings without enum/const/pattern can carry instructions; numbers cannot."""
    kind = schema.get("type")
    kinds: set[object]
    if isinstance(kind, list):
        kinds = {k for k in kind if isinstance(k, str)}
    elif kind is None or isinstance(kind, str):
        kinds = {kind}
    else:  # an invalid `type` (PC013 says so) must not stop the other checks
        return False
    if "string" not in kinds and None not in kinds:
        return False
    return not any(k in schema for k in ("enum", "const", "pattern", "format"))


def find_secrets(text: str) -> list[tuple[int, str]]:
    """(line, label) of every secret-looking string in `text`."""
    return [
        (lineno, label)
        for lineno, line in enumerate(text.splitlines(), start=1)
        for label, pattern in SECRET_PATTERNS
        if pattern.search(line)
    ]


def secret_diagnostic(label: str, location: SourceLocation | None) -> Diagnostic:
    return finding(
        "PC018",
        f"template contains what looks like a {label}",
        location,
        "never put secrets in prompts; pass data as an input",
    )


def _secrets(loaded: FileLoad, msg: MessageTemplate, text: str) -> list[Diagnostic]:
    return [
        secret_diagnostic(label, _line_of(loaded, msg, lineno))
        for lineno, label in find_secrets(text)
    ]


def _undelimited(msg: MessageTemplate, source: str, inputs: set[str]) -> list[Diagnostic]:
    out = []
    reported: set[str] = set()
    for match in re.finditer(r"\{\{-?\s*([A-Za-z_]\w*)[^}]*\}\}", source):
        name = match.group(1)
        if name not in inputs or name in reported:
            continue
        before = source[: match.start()].rstrip()
        if before.endswith(_OPENERS) or before.endswith("```") or _TAG_BEFORE.search(before):
            continue
        reported.add(name)
        out.append(
            finding(
                "PC107",
                f"input '{name}' is inserted into a system message without delimiters",
                msg.location,
                f"wrap it, e.g. <{name}>{{{{ {name} }}}}</{name}>, or move it to a user message",
            )
        )
    return out
