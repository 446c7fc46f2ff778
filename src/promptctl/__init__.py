"""promptctl: prompts as code.

Prompts live in git as versioned YAML files with their own tests; promptctl lints,
renders, evaluates, gates and publishes them, and `promptctl.runtime` runs the
published bundle inside applications.
"""

from promptctl import _code_store

__version__ = "0.1.0"

_code_store.install()  # before any module of the package defines a dataclass

__all__ = ["__version__"]
