"""Choosing, checking and releasing approved prompts as a bundle (`promptctl publish`).

Modules: `selection` (which prompts), `checks` (why a publish is refused), `codeowners`
(approver), `flow` (the whole flow). It may use lint and evals; the runtime never
imports it.
"""

from promptctl.publish.checks import publish_refusals
from promptctl.publish.flow import PublishResult, publish

__all__ = ["PublishResult", "publish", "publish_refusals"]
