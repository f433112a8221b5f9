"""message history: one row per message and recipient, its status kept by feedback

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('message_ref', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('stream', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('status_code', sa.String(length=3), nullable=True),
    sa.Column('status_detail', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('status_at', sa.DateTime(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['feedback_events.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'message_id', 'recipient')
    )
    op.create_index('ix_messages_ref', 'messages', ['tenant_id', 'message_ref', 'recipient'])
    op.create_index('ix_messages_recipient', 'messages', ['tenant_id', 'recipient', 'sent_at'])
    op.create_index('ix_messages_sent', 'messages', ['tenant_id', 'sent_at'])


def downgrade() -> None:
    op.drop_table('messages')
