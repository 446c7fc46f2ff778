"""`lint()`: load every file once, run every rule, collect a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptctl.errors import EXIT_FAILED, EXIT_OK, PromptctlError, SourceLocation
from promptctl.lint.checks import check_prompt
from promptctl.lint.templates import check_templates, find_secrets, secret_diagnostic
from promptctl.promptfile.diagnostics import Diagnostic
from promptctl.promptfile.loader import FileLoad, load_prompts, partials_dir
from promptctl.promptfile.model import Project
from promptctl.promptfile.rules import finding

__all__ = ["LintReport", "lint"]


@dataclass
class LintReport:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: int = 0
    base_ref: str | None = None
    strict: bool = False

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity == "warning" for d in self.diagnostics)

    def exit_code(self) -> int:
        """1 on errors (or on warnings when strict), else 0."""
        failed = self.errors > 0 or (self.strict and self.warnings > 0)
        return EXIT_FAILED if failed else EXIT_OK


def _sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    loc = d.location
    if loc is None:
        return ("", 0, 0, d.code)
    return (str(loc.path), loc.line or 0, loc.column or 0, d.code)


def lint(
    project: Project,
    paths: Sequence[Path] | None = None,
    *,
    base_ref: str | None = None,
    check_versions: bool = True,
    strict: bool = False,
) -> LintReport:
    """Lint the prompts of `project` (or just `paths`).

    Version rules compare with `base_ref`, by default the merge-base of HEAD with
    main/origin/main; outside a git repository they are skipped with a note.
    `strict` makes warnings fail `LintReport.exit_code()`.
    """
    loaded = load_prompts(project, paths)
    report = LintReport(files_checked=len(loaded.files), strict=strict)
    diags = report.diagnostics
    diags.extend(loaded.diagnostics)
    for file in loaded.files:
        if file.prompt is None:
            continue
        templates = check_templates(file, file.prompt, loaded.partials)
        diags.extend(templates.diagnostics)
        diags.extend(check_prompt(file, file.prompt, project, templates.inlined))
    base = partials_dir(project)
    for name, text in loaded.partials.items():
        for line, label in find_secrets(text):
            diags.append(secret_diagnostic(label, SourceLocation(base / name, line, 1)))
    diags.extend(_tracked_keys(project))
    if check_versions:
        diags.extend(_versions(project, loaded.files, base_ref, report))
    diags.sort(key=_sort_key)
    return report


def _tracked_keys(project: Project) -> list[Diagnostic]:
    """PC030 for every private key git tracks in the project's repository."""
    from promptctl.bundle.key_hygiene import tracked_key_message, tracked_private_keys

    return [
        finding("PC030", tracked_key_message(path), SourceLocation(path))
        for path in tracked_private_keys(project.root)
    ]


def _versions(
    project: Project, files: list[FileLoad], base_ref: str | None, report: LintReport
) -> list[Diagnostic]:
    from promptctl.promptfile.gitsource import find_repo_root, merge_base_ref

    where = SourceLocation(project.config_path) if project.config_path else None
    repo_root = find_repo_root(project.root)
    if repo_root is None:
        if base_ref is not None:
            raise PromptctlError(f"--base {base_ref}: {project.root} is not in a git repository")
        return [finding("PC900", "version rules skipped: not a git repository", where)]
    ref = base_ref or merge_base_ref(repo_root)
    if ref is None:
        return [
            finding(
                "PC900",
                "version rules skipped: no main or origin/main branch to compare with",
                where,
                "pass --base REF",
            )
        ]
    report.base_ref = ref
    from promptctl.lint.versions import check_versions

    return check_versions(files, project, repo_root, ref)
