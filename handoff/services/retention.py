"""Retention: ``python3 app.py purge --older-than 90d`` removes personal data of conversations that ended long ago.

For each handoff resolved or closed before the cutoff (and not purged yet), in batches, one transaction each:

* the transcript and every customer↔agent message are deleted;
* the handoff keeps its metrics — timestamps, status, priority, queue, topic, tier, urgency, outcome, counts,
  rules version, reason *codes* — and loses the free text: summary, trigger detail, the "why" line and reason
  details (they quote the customer), the AI context beyond intent/confidence/KB hits, technical details, the
  callback URL; its conversation id is replaced and its customer token rotated (old links stop working);
* events keep kind, actor, source, time and their codes and numbers; reasons and every other text are dropped;
* CSAT scores stay, comments go; CRM contact links go; delivered outbox items are deleted, others scrubbed;
* the customer record loses name, email, company, time zone and CRM id once none of its handoffs is unpurged.

Idempotent: purged handoffs are marked (``purged_at``) and never selected again, so a second run counts zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

from handoff.errors import InvalidCommand
from handoff.services.common import Deps


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows one purge run changed."""

    handoffs: int = 0
    messages: int = 0
    events: int = 0
    customers: int = 0
    csat_comments: int = 0
    outbox_items: int = 0

    def __add__(self, other: PurgeReport) -> PurgeReport:
        return PurgeReport(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12w``, ``36h`` → a duration.

    Raises:
        InvalidCommand: anything else, or zero.
    """
    units = {"h": 1.0, "d": 24.0, "w": 24.0 * 7}
    t = text.strip().lower()
    if len(t) < 2 or t[-1] not in units or not t[:-1].isdigit() or int(t[:-1]) <= 0:
        raise InvalidCommand(f"--older-than takes a positive number of hours, days or weeks (36h, 90d, 12w), "
                             f"not {text!r}", field="older_than")
    return timedelta(hours=int(t[:-1]) * units[t[-1]])


class Retention:
    """Personal-data retention (see the module docstring).

    Args:
        deps: the shared use-case dependencies.
        batch_size: handoffs per transaction.
    """

    def __init__(self, deps: Deps, *, batch_size: int = 200) -> None:
        self.deps = deps
        self.batch_size = batch_size

    async def purge(self, older_than: timedelta) -> PurgeReport:
        """Purge every handoff that ended more than ``older_than`` ago; returns the counts."""
        if older_than <= timedelta(0):
            raise InvalidCommand("the retention period must be positive", field="older_than")
        now = self.deps.now()
        cutoff = now - older_than
        total = PurgeReport()
        while True:
            async with self.deps.uow() as uow:
                ids = await uow.retention.purgeable(cutoff, self.batch_size)
                if not ids:
                    return total
                counts = await uow.retention.purge(ids, now)
                await uow.commit()
            total = total + PurgeReport(**counts)
