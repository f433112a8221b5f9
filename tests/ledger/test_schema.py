"""The migrations build the schema the models describe, on both backends: a model
changed without a migration (or the reverse) fails here rather than in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from postwarden.ledger.models import Base
from postwarden.mailbox import tables as mailbox_tables


def test_migrations_match_the_models(engine: Engine) -> None:
    # Every table is declared on the one Base; the mailbox's live in its own package.
    assert mailbox_tables.FilterState.__table__.metadata is Base.metadata
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_the_hot_tables_carry_no_tenant_foreign_key(engine: Engine) -> None:
    found = inspect(engine)
    for table in ("suppressions", "audit_log"):
        assert [fk["constrained_columns"] for fk in found.get_foreign_keys(table)
                if fk["referred_table"] == "tenants"] == []
    # The others keep theirs.
    assert [fk["referred_table"] for fk in found.get_foreign_keys("feedback_events")].count("tenants") == 1
