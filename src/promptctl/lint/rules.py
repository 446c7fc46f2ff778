"""The lint rules: stable codes, names, severities. docs/lint-rules.md documents each.

The table is `promptctl.promptfile.rules` (the loader emits findings too); this module
is where lint's own code and readers of the rule list find it.
"""

from __future__ import annotations

from promptctl.promptfile.rules import RULES, Rule, finding

__all__ = ["RULES", "Rule", "finding"]
