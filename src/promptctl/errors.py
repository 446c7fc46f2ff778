"""The one exception tree of promptctl.

Every error a user can cause or meet knows its exit code and prints as one clear
message (file:line:column, what is wrong, how to fix it), never as a traceback::

    PromptctlError                 exit 2 unless noted
    ├── UsageError                 bad command-line usage
    ├── ConfigError                promptctl.yaml is missing or invalid
    ├── PromptFileError            a prompt file is invalid (carries a SourceLocation)
    ├── RenderError                a template failed to render (missing input, sandbox escape…)
    ├── InputValidationError       inputs do not match the prompt's input schema
    ├── ContextError               a required input's resolver failed with no fallback/default
    ├── BundleError                a bundle is missing, tampered with, truncated or unsigned
    ├── PublishError               publish refused (one line per reason)
    ├── RefusedError               exit 1: refused for safety (an untrusted pull request's
    │                              code or providers, a private key inside git)
    └── ProviderError              exit 3: a provider call failed (kind: auth, rate_limit, …)
        └── StreamInterrupted      a stream broke after its first token (carries the
                                   partial text; never failed over: the caller saw it)

Exit codes: 0 ok, 1 tests failed / regression / lint errors, 2 bad input or usage,
3 provider or infrastructure failure, 130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "EXIT_FAILED",
    "EXIT_INFRA",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "BundleError",
    "ConfigError",
    "ContextError",
    "InputValidationError",
    "PromptFileError",
    "PromptctlError",
    "ProviderError",
    "ProviderErrorKind",
    "PublishError",
    "RefusedError",
    "RenderError",
    "SourceLocation",
    "StreamInterrupted",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)  # slots: every test and assertion holds one
class SourceLocation:
    """A place in a file; line and column are 1-based, as editors show them."""

    path: Path
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        out = str(self.path)
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out


class PromptctlError(Exception):
    """Root of every error promptctl raises on purpose."""

    exit_code: int = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class UsageError(PromptctlError):
    """Bad command-line usage: unknown prompt id, conflicting flags, missing file."""


class ConfigError(PromptctlError):
    """promptctl.yaml is missing, unreadable or invalid."""


class PromptFileError(PromptctlError):
    """A prompt file is invalid: YAML syntax, schema, unknown key, duplicate id…"""


class RenderError(PromptctlError):
    """A template failed to render: undefined variable, sandbox violation, include cycle."""


class InputValidationError(PromptctlError):
    """Inputs do not match the prompt's input schema.

    `missing` names a required input that was not given, so a front door can say how to
    pass it in its own terms (the CLI: `--var`); the message itself names no flag.
    """

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        hint: str | None = None,
        missing: str | None = None,
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.missing = missing


class ContextError(PromptctlError):
    """A required input could not be resolved (its resolver timed out or raised) and has
    neither a fallback nor a default; the message names the input and the cause."""


class BundleError(PromptctlError):
    """A bundle is missing, malformed, tampered with, truncated, or its signature fails."""


class PublishError(PromptctlError):
    """`promptctl publish` refused; `reasons` holds one line per reason."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("publish refused:\n" + "\n".join(f"  - {r}" for r in reasons))
        self.reasons = reasons


class RefusedError(PromptctlError):
    """Refused for safety, not for bad input: a fork's pull request would run its own
    code or send keys to its own provider settings, a private key would enter git."""

    exit_code = EXIT_FAILED


ProviderErrorKind = Literal[
    "auth",
    "bad_request",
    "not_found",
    "model_retired",
    "context_length",
    "content_filter",
    "rate_limit",
    "quota",
    "overloaded",
    "server",
    "timeout",
    "network",
    "bad_response",
    "config",
    "circuit_open",
    "replay_missing",
]


class ProviderError(PromptctlError):
    """A provider call failed. `kind` says why, `retryable` whether waiting may heal it.

    Messages never contain an API key: adapters build them from the provider's error
    body, which is scrubbed of anything that looks like a secret before it is stored.
    """

    exit_code = EXIT_INFRA

    def __init__(
        self,
        kind: ProviderErrorKind,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        retry_after_s: float | None = None,
        hint: str | None = None,
    ) -> None:
        target = f"{provider}/{model}" if provider and model else provider
        prefix = f"{target}: " if target else ""
        super().__init__(f"{prefix}{kind}: {message}", hint=hint)
        self.kind: ProviderErrorKind = kind
        self.provider = provider
        self.model = model
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.kind in {"rate_limit", "overloaded", "server", "timeout", "network"}


class StreamInterrupted(ProviderError):
    """A streamed answer broke after its first token (cut, stalled, an error event).

    `kind` is the cause (network, timeout, overloaded…). The caller has already shown
    `partial_text` to someone, so the call is not failed over; `usage` is what the wire
    reported before it broke (`usage_known` False when it had not reported it yet).
    """

    def __init__(
        self,
        kind: ProviderErrorKind,
        message: str,
        *,
        partial_text: str,
        usage: Any = None,
        usage_known: bool = False,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(kind, message, provider=provider, model=model, status=status, hint=hint)
        self.partial_text = partial_text
        self.usage = usage
        self.usage_known = usage_known

    @property
    def retryable(self) -> bool:
        return False
