"""The call ledger, shared by the runtime and evaluations: SQLite, batched, append-only.

Imports nothing of the CLI: the runtime uses it.
"""

from promptctl.ledger.store import DEFAULT_LEDGER_PATH, Ledger, connect

__all__ = ["DEFAULT_LEDGER_PATH", "Ledger", "connect"]
