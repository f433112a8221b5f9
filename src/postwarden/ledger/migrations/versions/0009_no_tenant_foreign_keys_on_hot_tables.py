"""no tenant foreign keys on suppressions and audit_log

Each row of these two tables, the ones every import and most feedback write, cost a
foreign-key check against tenants: a third of PostgreSQL's work per imported row.
Tenants are never deleted and every tenant id written is read from the tenants table
by the same code, so the check could never fail.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# The constraints were created unnamed; on SQLite, batch mode finds them by these names.
NAMES = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}
TABLES = ("suppressions", "audit_log")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
            batch_op.drop_constraint(f"{table}_tenant_id_fkey", type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
            batch_op.create_foreign_key(f"{table}_tenant_id_fkey", "tenants", ["tenant_id"], ["id"])
