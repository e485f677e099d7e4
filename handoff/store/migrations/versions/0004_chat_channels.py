"""chat channels: burst groups, broken-channel notices and conversation references in the database; arrivals index

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chat_channels',
    sa.Column('surface', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=255), nullable=False),
    sa.Column('group_message_id', sa.String(length=255), nullable=True),
    sa.Column('group_queue', sa.String(length=64), nullable=True),
    sa.Column('group_first_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('group_last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('group_dirty', sa.Boolean(), nullable=False),
    sa.Column('notices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('surface', 'channel')
    )
    op.create_table('chat_references',
    sa.Column('surface', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('reference', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('surface', 'key')
    )
    op.create_index('ix_handoffs_queue_created', 'handoffs', ['queue', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_handoffs_queue_created', table_name='handoffs')
    op.drop_table('chat_references')
    op.drop_table('chat_channels')
