"""A finding about a file: what lint prints and what the loader collects.

Lives in `spec` (not `lint`) because the loader reports its own findings with it and
`lint` sits above the loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from promptctl.errors import SourceLocation

__all__ = ["Diagnostic", "Severity"]

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding. `code` is stable (PC001…), documented in docs/lint-rules.md."""

    code: str
    severity: Severity
    message: str
    location: SourceLocation | None = None
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.severity} {self.code}: {self.message}{hint}"
