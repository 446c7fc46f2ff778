"""What an answer costs: one home for chat answers, streams cut short and embeddings.

The price is the one of the model that answered: the model the server reports (a
gateway or an alias may answer with another), else the target asked. Without a price
of ours, a proxy's own figure (LiteLLM's `x-litellm-response-cost`) is taken. A cost
that cannot be known (no price, or no usage read at a non-zero price) is None, never
0, and is said once per target and gateway in the log.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING

from promptctl.promptfile.model import Project
from promptctl.providers.types import Usage

if TYPE_CHECKING:
    from promptctl.providers.chain import TargetPlan
    from promptctl.providers.pricing import Price

__all__ = ["NO_USAGE", "AnswerCosts"]

log = logging.getLogger(__name__)

NO_USAGE = "%s sent no readable token usage: its cost is unknown"
_NO_PRICE = "no price known for %s: its cost is unknown (add it under `pricing:` in promptctl.yaml)"


class AnswerCosts:
    """One gateway's prices (memoised per project, day and target) and answers' costs."""

    def __init__(self) -> None:
        self._prices: tuple[Project, datetime.date, dict[str, Price | None]] | None = None
        self._warned: set[tuple[str, str]] = set()  # (message, target) already logged

    def price(self, project: Project, target: str) -> Price | None:
        """`price_for(target)` today; it scans the whole price table, hence the memo."""
        day = datetime.date.today()
        memo = self._prices
        if memo is None or memo[0] is not project or memo[1] != day:
            memo = self._prices = (project, day, {})
        table = memo[2]
        if target not in table:
            from promptctl.providers.pricing import price_for

            table[target] = price_for(target, project, day)
        return table[target]

    def price_of(
        self, project: Project, target_plan: TargetPlan, model_reported: str
    ) -> Price | None:
        """The price of the model that answered: the reported one's, else the target's."""
        price = None
        if model_reported:
            price = self.price(project, f"{target_plan.settings.name}/{model_reported}")
        return price if price is not None else self.price(project, target_plan.request.target)

    def cost(
        self,
        project: Project,
        target_plan: TargetPlan,
        usage: Usage,
        usage_known: bool,
        model_reported: str,
        *,
        reported: float | None = None,
        no_usage: str = NO_USAGE,
    ) -> float | None:
        """The answer's cost, or None with a warning (once) saying why it is unknown.

        A price of 0 for every token needs no usage (a local model costs nothing even
        when its server reports none); `no_usage` is that warning's text (`%s`: target).
        """
        from promptctl.providers.pricing import known_cost

        price = self.price_of(project, target_plan, model_reported)
        if price is None and reported is not None:
            return reported
        cost = known_cost(usage, usage_known, price)
        if cost is None:
            self.warn_once(target_plan.request.target, no_usage if not usage_known else _NO_PRICE)
        return cost

    def warn_once(self, target: str, message: str) -> None:
        """Log `message` (with `%s` for the target) once per target."""
        if (message, target) not in self._warned:
            self._warned.add((message, target))
            log.warning(message, target)
