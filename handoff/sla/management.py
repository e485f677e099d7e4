"""When an escalation goes to management: the triggers, pure (the engine feeds them facts)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from handoff.sla.config import ManagementConfig


@lru_cache(maxsize=8)
def _words(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w.lower()) for w in words) + r")(?!\w)")


def word_hit(cfg: ManagementConfig, texts: Sequence[str]) -> str | None:
    """The first churn or legal phrase of ``management.words`` found in the customer's texts."""
    pattern = _words(tuple(cfg.words))
    if pattern is None:
        return None
    for text in texts:
        m = pattern.search(text.lower())
        if m:
            return m.group(1)
    return None


def intake_triggers(cfg: ManagementConfig, *, account_value: float, recent_escalations: int,
                    texts: Sequence[str]) -> list[dict[str, str]]:
    """The triggers that hold when a handoff arrives: repeat customer, churn/legal words, revenue at risk.

    ``recent_escalations`` counts the customer's earlier handoffs within ``repeat_days`` (this one excluded).
    """
    out: list[dict[str, str]] = []
    if recent_escalations + 1 >= cfg.repeat_count:
        out.append({"code": "repeat_customer",
                    "detail": f"escalated {recent_escalations + 1} times in {cfg.repeat_days} days"})
    hit = word_hit(cfg, texts)
    if hit:
        out.append({"code": "churn_or_legal", "detail": f"the customer wrote '{hit}'"})
    if cfg.revenue_at_risk is not None and account_value >= cfg.revenue_at_risk:
        out.append({"code": "revenue_at_risk",
                    "detail": f"account value {account_value:,.0f} ≥ {cfg.revenue_at_risk:,.0f} at risk"})
    return out
