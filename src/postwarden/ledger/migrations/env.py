"""Alembic environment: run with the connection handed over by ``postwarden init``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from postwarden.ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)

# Several processes may run `postwarden init` against one PostgreSQL at once.
if connection.dialect.name == "postgresql":
    connection.execute(text("SELECT pg_advisory_xact_lock(7411)"))

with context.begin_transaction():
    context.run_migrations()
