"""flat cost under load: listening customers, the webhook waiting index, NOTIFY from the outbox itself

``customer_updates.listening_until``: scheduled updates go to customers who listen (a webhook, or the widget
open), so a backlog of customers who closed the widget costs the scheduler nothing. ``ix_handoffs_waiting_webhook``
finds waiting webhook handoffs without a scan of the queue. On PostgreSQL a statement trigger on ``outbox`` sends
``NOTIFY baton_outbox`` for every insert, in the inserting transaction (delivered only if it commits): no extra
round trip per commit, and no writer can forget it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION baton_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('baton_outbox', '');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table('customer_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listening_until', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_waiting_webhook', ['id'], unique=False,
                              postgresql_where=sa.text("status = 'queued' AND callback_url IS NOT NULL"),
                              sqlite_where=sa.text("status = 'queued' AND callback_url IS NOT NULL"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute("CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT "
                   "EXECUTE FUNCTION baton_outbox_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS baton_outbox_notify()")
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_waiting_webhook')
    with op.batch_alter_table('customer_updates', schema=None) as batch_op:
        batch_op.drop_column('listening_until')
