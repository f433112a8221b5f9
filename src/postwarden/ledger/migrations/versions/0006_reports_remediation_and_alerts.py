"""reports remediation and alerts

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('daily_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('deferred', sa.Integer(), nullable=False),
    sa.Column('hard_bounces', sa.Integer(), nullable=False),
    sa.Column('soft_bounces', sa.Integer(), nullable=False),
    sa.Column('sender_failures', sa.Integer(), nullable=False),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.Column('unsubscribes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'day', 'provider')
    )
    op.create_table('report_rollup',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('gaps', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('report_domains',
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('domain')
    )
    op.create_table('remediation_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_remediation_steps_at', 'remediation_steps', ['tenant_id', 'at'])
    op.create_table('report_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('notify_state', sa.String(length=10), nullable=False),
    sa.Column('notify_attempts', sa.Integer(), nullable=False),
    sa.Column('notify_next_at', sa.DateTime(), nullable=True),
    sa.Column('notify_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key')
    )
    op.create_index('ix_report_alerts_raised', 'report_alerts', ['tenant_id', 'raised_at'])
    op.create_index('ix_report_alerts_notify', 'report_alerts', ['notify_state', 'notify_next_at'])
    op.create_table('dmarc_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('org_name', sa.String(length=255), nullable=False),
    sa.Column('report_id', sa.String(length=255), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('date_begin', sa.DateTime(), nullable=False),
    sa.Column('date_end', sa.DateTime(), nullable=False),
    sa.Column('policy', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'org_name', 'report_id')
    )
    op.create_index('ix_dmarc_reports_domain', 'dmarc_reports', ['tenant_id', 'domain', 'date_end'])
    op.create_table('dmarc_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('source_ip', sa.String(length=45), nullable=False),
    sa.Column('header_from', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('disposition', sa.String(length=20), nullable=False),
    sa.Column('dkim', sa.String(length=10), nullable=False),
    sa.Column('spf', sa.String(length=10), nullable=False),
    sa.Column('auth_results', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['dmarc_reports.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_dmarc_records_report_id', 'dmarc_records', ['report_id'])
    op.create_index('ix_dmarc_records_source', 'dmarc_records', ['tenant_id', 'header_from', 'source_ip'])


def downgrade() -> None:
    op.drop_table('dmarc_records')
    op.drop_table('dmarc_reports')
    op.drop_table('report_alerts')
    op.drop_table('remediation_steps')
    op.drop_table('report_domains')
    op.drop_table('report_rollup')
    op.drop_table('daily_stats')
