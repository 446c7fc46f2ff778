"""Which prompts a publish covers, inlined and paired with their lint errors.

The publish flow (`promptctl.publish.flow.publish`) wants prompts with partials
inlined and lint errors keyed by prompt id; this module produces both from a project.
It imports the loader and lint, so the runtime never imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from promptctl.promptfile.model import MessageTemplate, Project, Prompt
from promptctl.promptfile.partials import inline_partials

__all__ = ["Selection", "select_for_publish"]


@dataclass(frozen=True)
class Selection:
    prompts: list[Prompt]  # partials inlined, in the order asked (or by id)
    lint_errors: dict[str, list[str]]  # prompt id -> one line per lint error
    refusals: list[str]  # files that do not load at all (publishing everything)
    skipped: list[str] = dataclasses.field(default_factory=list)  # not approved, not asked for


def select_for_publish(project: Project, ids: Sequence[str] = ()) -> Selection:
    """Load and lint the project; pick `ids` (default: every approved prompt).

    Without ids, drafts and deprecated prompts are left out (listed in `skipped`) rather
    than refused: a release takes what is approved, as a release manager expects. Named
    ids are taken as asked, so naming a draft is refused by the publish checks. An
    unknown id is a UsageError (with a suggestion); with no ids, a prompt file that does
    not load at all is a refusal (in `refusals`), since it cannot be judged.
    """
    from promptctl.lint import lint
    from promptctl.promptfile.loader import load_prompts

    loaded = load_prompts(project)
    refusals: list[str] = []
    skipped: list[str] = []
    if ids:
        chosen = [loaded.get(i) for i in dict.fromkeys(ids)]
    else:
        refusals = [
            f"{_rel(f.path, project.root)} does not load: "
            + next((d.message for d in f.diagnostics if d.is_error), "invalid")
            for f in loaded.files
            if not f.ok
        ]
        every = sorted(loaded.prompts, key=lambda p: p.id)
        chosen = [p for p in every if p.status == "approved"]
        skipped = [f"{p.id}@{p.version} ({p.status})" for p in every if p.status != "approved"]
        if not chosen and not refusals:
            refusals.append("no approved prompt to publish (set `status: approved` on one)")
    report = lint(project)
    by_path = {p.path.resolve(): p.id for p in chosen}
    errors: dict[str, list[str]] = {}
    for diag in report.diagnostics:
        if diag.is_error and diag.location is not None:
            owner = by_path.get(Path(diag.location.path).resolve())
            if owner is not None:
                where = f"{_rel(Path(diag.location.path), project.root)}:{diag.location.line or 0}"
                errors.setdefault(owner, []).append(f"{diag.code} {diag.message} ({where})")
    return Selection([_inlined(p, loaded.partials) for p in chosen], errors, refusals, skipped)


def _inlined(prompt: Prompt, partials: Mapping[str, str]) -> Prompt:
    def messages(items: tuple[MessageTemplate, ...]) -> tuple[MessageTemplate, ...]:
        return tuple(
            dataclasses.replace(m, template=inline_partials(m.template, partials))
            if m.template is not None
            else m
            for m in items
        )

    model = prompt.model
    fallbacks = tuple(
        dataclasses.replace(t, messages=messages(t.messages)) if t.messages is not None else t
        for t in model.fallbacks
    )
    return dataclasses.replace(
        prompt,
        messages=messages(prompt.messages),
        model=dataclasses.replace(model, fallbacks=fallbacks),
    )


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
