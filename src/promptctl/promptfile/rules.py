"""The rules behind every finding: stable code, name, severity and one-line summary.

Each rule owns its severity here and its documentation in docs/lint-rules.md (a test
keeps the two in step). Findings are emitted by code (`finding("PC013", ...)`), never
with a retyped severity. The table lives in the prompt-file layer because the loader
reports its own findings (PC001-PC016); `promptctl.lint.rules` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptctl.errors import SourceLocation
from promptctl.promptfile.diagnostics import Diagnostic, Severity

__all__ = ["RULES", "Rule", "finding"]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str


_TABLE: tuple[Rule, ...] = (
    Rule(
        "PC001", "yaml", "error", "The file is not readable YAML (syntax, encoding, size, empty)."
    ),
    Rule("PC002", "duplicate-key", "error", "A key appears twice in one mapping."),
    Rule("PC003", "schema", "error", "The file violates the prompt-file schema."),
    Rule("PC004", "unknown-key", "error", "A key the format does not know (typo?)."),
    Rule("PC005", "invalid-version", "error", "`version` is not a semantic version."),
    Rule("PC006", "duplicate-id", "error", "Two files define the same prompt id."),
    Rule("PC007", "dataset", "error", "A test dataset is missing or malformed."),
    Rule("PC008", "duplicate-test", "error", "Two tests of one prompt share a name."),
    Rule("PC009", "sandbox-unsafe", "error", "A template reaches for Python internals (`__x`)."),
    Rule("PC010", "template-syntax", "error", "A message template is not valid Jinja2."),
    Rule("PC011", "undeclared-variable", "error", "A template uses a variable not under `inputs`."),
    Rule("PC012", "include", "error", "An include is missing, leaves _partials/ or cycles."),
    Rule(
        "PC013",
        "invalid-schema",
        "error",
        "An input, output or tool parameters schema is not valid JSON Schema.",
    ),
    Rule("PC014", "test-vars", "error", "A test's `vars` violate the input schema."),
    Rule("PC015", "unknown-assertion", "error", "An assertion type that does not exist."),
    Rule("PC016", "invalid-assertion", "error", "An assertion with a bad argument (regex…)."),
    Rule("PC017", "unknown-target", "error", "A `use` names a provider that is not configured."),
    Rule("PC018", "secret", "error", "A template contains something that looks like a secret."),
    Rule(
        "PC019", "test-render", "error", "A test's vars are valid but the prompt fails to render."
    ),
    Rule("PC020", "version-not-bumped", "error", "Content changed since the base, same version."),
    Rule("PC021", "version-lowered", "error", "The version is lower than at the base."),
    Rule("PC022", "version-bump-too-small", "error", "The bump is smaller than the change."),
    Rule("PC023", "model-retired", "error", "A target's model is past its shutdown date."),
    Rule("PC024", "tools", "error", "A tool set providers refuse, or a tool_choice naming none."),
    Rule("PC025", "unsupported-param", "error", "A param the target's API has no field for."),
    Rule("PC030", "private-key-tracked", "error", "A private key file is tracked by git."),
    Rule("PC101", "unused-input", "warning", "An input no template uses."),
    Rule("PC102", "no-tests", "warning", "A prompt without tests."),
    Rule("PC103", "missing-description", "warning", "A prompt without a description."),
    Rule("PC104", "approved-without-tests", "warning", "`status: approved` with no tests."),
    Rule("PC105", "json-without-schema", "warning", "`output.format: json` with no schema."),
    Rule("PC106", "context-window", "warning", "A rendered test may not fit the context window."),
    Rule(
        "PC107", "undelimited-input", "warning", "An input in a system message without delimiters."
    ),
    Rule("PC108", "param-typo", "warning", "A model param that looks like a misspelt known one."),
    Rule("PC109", "model-retiring", "warning", "A target's model shuts down within N days."),
    Rule("PC110", "catastrophic-regex", "warning", "A regex that can take exponential time."),
    Rule("PC111", "history-without-budget", "note", "A `history` entry with no budget."),
    Rule(
        "PC112",
        "strict-schema",
        "warning",
        "An output schema OpenAI cannot take with strict: true (sent strict: false).",
    ),
    Rule(
        "PC113",
        "schema-without-json",
        "warning",
        "An output.schema on a text output: the model is never asked for JSON.",
    ),
    Rule("PC900", "version-check-skipped", "note", "Version rules could not run (no git base)."),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _TABLE}


def finding(
    code: str, message: str, location: SourceLocation | None = None, hint: str | None = None
) -> Diagnostic:
    """A finding of rule `code`, with the rule's severity (KeyError for an unknown code)."""
    return Diagnostic(code, RULES[code].severity, message, location, hint)
