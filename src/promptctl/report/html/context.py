"""What a report can add when the prompts are at hand: tags (for the tag filter) and the
rendered messages of each case. Both are optional; a results file alone still renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.errors import PromptctlError
from promptctl.promptfile.model import Prompt
from promptctl.report.html.payload import MessagesFor

__all__ = ["prompt_tags", "rendered_messages"]


def prompt_tags(prompts: Sequence[Prompt]) -> dict[str, list[str]]:
    return {p.id: list(p.tags) for p in prompts if p.tags}


def rendered_messages(prompts: Sequence[Prompt], partials: Mapping[str, str]) -> MessagesFor:
    """Messages for a case, rendered as the run sent them: only for a prompt whose content
    hash is the case's (an edited prompt would show messages that were never sent), with
    a fallback target's own messages when the case ran on it. Memoised per test and target.
    """
    from promptctl.render import render_messages

    by_id = {p.id: p for p in prompts}
    memo: dict[tuple[str, str, str], list[dict[str, str]] | None] = {}
    # the vars of a test are the same for every target and repeat, so (prompt, test,
    # target) identifies what was sent

    def messages(case: Mapping[str, Any]) -> list[dict[str, str]] | None:
        key = (str(case.get("prompt")), str(case.get("test")), str(case.get("target")))
        if key in memo:
            return memo[key]
        prompt = by_id.get(key[0])
        result = None
        if prompt is not None and prompt.content_hash == case.get("content_hash"):
            fallbacks = prompt.model.fallbacks
            target = next((t for t in fallbacks if t.use == key[2] and t.messages), None)
            try:
                rendered = render_messages(
                    prompt, case.get("vars") or {}, target=target, partials=partials
                )
                result = [{"role": m.role, "content": m.content} for m in rendered]
            except PromptctlError:
                result = None
        memo[key] = result
        return result

    return messages
