"""What changed in a prompt between base and head: the cause next to the effect.

A semantic diff (deepdiff) over a plain-data view of the loaded prompt — model, params,
fallbacks, routes, inputs, output schema — plus the tests added or removed and a
unified diff (difflib) of each changed message template. Metadata (description, owner,
tags, status) is left out: it does not change what the model sees.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.evals.comparison import PromptChange
from promptctl.promptfile.model import MessageTemplate, Prompt, Target

__all__ = ["all_prompt_changes", "prompt_changes", "prompt_view"]

_MAX_DIFF_LINES = 200


def prompt_changes(base: Prompt | None, head: Prompt | None) -> PromptChange:
    """Compare two loaded versions of one prompt; either side may be missing."""
    if base is None and head is None:
        raise ValueError("need at least one side")
    if base is None:
        assert head is not None
        return PromptChange(head.id, "added", head_version=head.version)
    if head is None:
        return PromptChange(base.id, "removed", base_version=base.version)
    base_tests = [t.name for t in base.tests]
    head_tests = [t.name for t in head.tests]
    changes = _semantic(prompt_view(base), prompt_view(head))
    diffs = _template_diffs(base.messages, head.messages)
    added = tuple(t for t in head_tests if t not in base_tests)
    removed = tuple(t for t in base_tests if t not in head_tests)
    changed = bool(changes or diffs or added or removed)
    return PromptChange(
        prompt=head.id,
        status="changed" if changed else "unchanged",
        base_version=base.version,
        head_version=head.version,
        changes=tuple(changes),
        tests_added=added,
        tests_removed=removed,
        template_diffs=tuple(diffs),
    )


def all_prompt_changes(base: Sequence[Prompt], head: Sequence[Prompt]) -> tuple[PromptChange, ...]:
    """Pair prompts by id (head order, then removed ones) and diff each pair."""
    old = {p.id: p for p in base}
    new = {p.id: p for p in head}
    ids = list(new) + [i for i in old if i not in new]
    return tuple(prompt_changes(old.get(i), new.get(i)) for i in ids)


def prompt_view(prompt: Prompt) -> dict[str, Any]:
    """Plain, JSON-like data of what the model sees (templates are diffed apart)."""
    model = prompt.model
    return {
        "version": prompt.version,
        "model": {
            "use": model.use,
            "params": _plain(model.params),
            "fallbacks": [_target(t) for t in model.fallbacks],
            "routes": [{"when": r.when, "use": r.use} for r in model.routes],
        },
        "inputs": _plain(prompt.inputs),
        "output": {"format": prompt.output.format, "schema": _plain(prompt.output.schema)},
        "messages": [_label(m) for m in prompt.messages],
    }


def _target(target: Target) -> dict[str, Any]:
    return {"use": target.use, "params": _plain(target.params)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _label(message: MessageTemplate) -> str:
    return f"history: {message.history_var}" if message.role is None else str(message.role)


def _semantic(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    from deepdiff import DeepDiff

    diff = DeepDiff(base, head, verbose_level=2)
    lines: list[str] = []
    for kind, items in diff.items():
        for path, value in dict(items).items():
            where = _path(str(path))
            if kind in ("values_changed", "type_changes"):
                old, new = _show(value.get("old_value")), _show(value.get("new_value"))
                lines.append(f"{where}: {old} -> {new}")
            elif kind.endswith("_added"):
                lines.append(f"{where}: added {_show(value)}")
            elif kind.endswith("_removed"):
                lines.append(f"{where}: removed {_show(value)}")
            else:
                lines.append(f"{where}: changed")
    return sorted(lines)


def _path(deepdiff_path: str) -> str:
    dotted = re.sub(r"\['([^']*)'\]", r".\1", deepdiff_path.removeprefix("root"))
    return dotted.lstrip(".") or "(root)"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:119] + "…"


def _template_diffs(
    base: tuple[MessageTemplate, ...], head: tuple[MessageTemplate, ...]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i in range(max(len(base), len(head))):
        old = _text(base[i]) if i < len(base) else ""
        new = _text(head[i]) if i < len(head) else ""
        if old == new:
            continue
        role = _label(head[i] if i < len(head) else base[i])
        label = f"messages[{i}] ({role})"
        lines = list(
            difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                fromfile=f"base/{label}",
                tofile=f"head/{label}",
                lineterm="",
            )
        )
        if len(lines) > _MAX_DIFF_LINES:
            more = len(lines) - _MAX_DIFF_LINES
            lines = [*lines[:_MAX_DIFF_LINES], f"… {more} more diff lines"]
        out.append((label, "\n".join(lines)))
    return out


def _text(message: MessageTemplate) -> str:
    return message.template or ""
