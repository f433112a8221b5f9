"""Connecting to the ledger database: SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError

from postwarden.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


def _normalise_url(url: str) -> str:
    # psycopg 3 is the driver we test; plain postgresql:// URLs would pick psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        # Pooled: closing the last connection to a WAL database checkpoints it, and a
        # connection per transaction would pay for that on every commit.
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=5, max_overflow=10)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision."""
    try:
        with engine.begin() as connection:
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise unavailable(engine, exc) from exc


def require_schema(engine: Engine) -> None:
    try:
        tables = set(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise unavailable(engine, exc) from exc
    if "suppressions" not in tables:
        raise DatabaseUnavailable(
            f"the database at {engine.url.render_as_string(hide_password=True)} has no postwarden "
            "schema: run `postwarden init` first"
        )


def unavailable(engine: Engine, exc: Exception) -> DatabaseUnavailable:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUnavailable(
        f"cannot reach the database at {engine.url.render_as_string(hide_password=True)} "
        f"({first_line}): check that the server runs and POSTWARDEN_DATABASE_URL or --database is right"
    )
