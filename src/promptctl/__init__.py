"""promptctl: prompts as code.

Prompts live in git as versioned YAML files with their own tests; promptctl lints,
renders, evaluates, gates and publishes them, and `promptctl.runtime` runs the
published bundle inside applications.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
