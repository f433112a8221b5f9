"""intake spool and instance secrets

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import secrets


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('instance_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('intake_spool',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('intake_spool', schema=None) as batch_op:
        batch_op.create_index('ix_intake_spool_state', ['state', 'id'], unique=False)

    # The HMAC key of VERP and unsubscribe tokens, shared by every process of this database.
    table = sa.table("instance_secrets", sa.column("name"), sa.column("value"))
    op.bulk_insert(table, [{"name": "token_key", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    with op.batch_alter_table('intake_spool', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_spool_state')

    op.drop_table('intake_spool')
    op.drop_table('instance_secrets')
