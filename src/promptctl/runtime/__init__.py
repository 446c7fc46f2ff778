"""What applications import: load a published bundle and run its prompts.

    from promptctl.runtime import Runtime

    rt = Runtime.load("releases/latest.bundle.json", public_key="signing.pub.pem")
    result = rt.run("support/triage", ticket="My invoice is wrong")

Imports nothing of the CLI (typer, rich, gitpython, deepdiff), and the HTTP client,
cryptography and jsonschema only on first use: applications should not pay for them.
See docs/runtime.md.
"""

from promptctl.errors import (
    BundleError,
    ContextError,
    InputValidationError,
    PromptctlError,
    ProviderError,
    RenderError,
    StreamInterrupted,
)
from promptctl.providers.embeddings import EmbedResult
from promptctl.providers.types import SkippedTarget, ToolCall, Usage
from promptctl.runtime._bundle import LoadedBundle
from promptctl.runtime._result import RunResult
from promptctl.runtime._runtime import LEDGER_ENV, Runtime

__all__ = [
    "LEDGER_ENV",
    "BundleError",
    "ContextError",
    "EmbedResult",
    "InputValidationError",
    "LoadedBundle",
    "PromptctlError",
    "ProviderError",
    "RenderError",
    "RunResult",
    "Runtime",
    "SkippedTarget",
    "StreamInterrupted",
    "ToolCall",
    "Usage",
]
