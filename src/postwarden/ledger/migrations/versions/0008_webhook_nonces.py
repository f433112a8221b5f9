"""one-time webhook tokens seen within the replay window

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_nonces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=200), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'provider', 'token')
    )
    op.create_index(op.f('ix_webhook_nonces_expires_at'), 'webhook_nonces', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_webhook_nonces_expires_at'), table_name='webhook_nonces')
    op.drop_table('webhook_nonces')
