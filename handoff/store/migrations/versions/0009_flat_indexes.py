"""flat cost under load: the place-in-line count from the index alone, one index fewer per SLA clock

``ix_handoffs_queue_order`` gains ``id``: the position count's tie-break compares ids, so without it each of the up
to 1,000 rows counted was a heap fetch (1.3 ms of PostgreSQL per intake with 50,000 waiting); with it the count
is an index-only scan. ``ix_sla_clocks_handoff (handoff_id, kind)`` repeated the leading columns of the unique
constraint ``uq_sla_clocks_start (handoff_id, kind, started_at)``, which serves every look-up by handoff (and
kind) as well; each new clock paid for both. Dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_handoff')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_queue_order')
        batch_op.create_index('ix_handoffs_queue_order', ['status', 'queue', 'priority_rank', 'created_at', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_queue_order')
        batch_op.create_index('ix_handoffs_queue_order', ['status', 'queue', 'priority_rank', 'created_at'],
                              unique=False)
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_handoff', ['handoff_id', 'kind'], unique=False)
