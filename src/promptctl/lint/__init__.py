"""`promptctl lint`: rules with stable codes over prompt files (docs/lint-rules.md)."""

from promptctl.lint.engine import LintReport, lint
from promptctl.lint.rules import RULES, Rule
from promptctl.promptfile.diagnostics import Diagnostic

__all__ = ["RULES", "Diagnostic", "LintReport", "Rule", "lint"]
