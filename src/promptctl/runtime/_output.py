"""Parse and validate a JSON prompt's answer against its output schema."""

from __future__ import annotations

import re
from typing import Any

from promptctl.promptfile import strict_json
from promptctl.promptfile.fast_validate import first_error
from promptctl.promptfile.model import OutputSpec

__all__ = ["parse_output"]

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*)\n```$", re.DOTALL)


def parse_output(output: OutputSpec, text: str) -> tuple[Any, str | None]:
    """(data, error): text prompts give (None, None); JSON ones parse then validate.

    One surrounding Markdown code fence is tolerated, as the eval assertions do.
    """
    if output.format != "json":
        return None, None
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:  # the model's text is untrusted: NaN, a 5,000-digit number, [[[[… 100,000 deep
        data = strict_json.loads(body)
    except ValueError as exc:
        return None, f"answer is not JSON: {strict_json.reason(exc)}"
    except RecursionError:
        return None, "answer is not JSON this reader can take: nested too deeply"
    if output.schema is None:
        return data, None
    error = first_error(output.schema, data)
    if error is None:
        return data, None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return None, f"answer does not match the output schema at {where}: {error.message}"
