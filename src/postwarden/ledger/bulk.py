"""Fast paths for work on many rows at once: looking up a batch of addresses and
inserting many rows. One function each, with the dialect's best tool inside:
PostgreSQL takes one array parameter and COPY; SQLite takes bounded IN lists and
executemany. Both go straight to the driver, since SQLAlchemy's per-statement
compilation dominates at these sizes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

SQLITE_BATCH = 900  # under SQLite's bound-parameter limit, with room for the rest
POSTGRES_BATCH = 20000
LOOKUP_COLUMNS = ("address", "scope", "reason_class", "reason", "created_at", "expires_at", "state")


def lookup(conn: Connection, tenant_id: int, addresses: Sequence[str],
           scopes: Sequence[str] | None, active_only: bool = True) -> Iterator[tuple[Any, ...]]:
    """Suppression rows (``LOOKUP_COLUMNS``) of ``addresses``, on ``scopes`` if given."""
    columns = ", ".join(LOOKUP_COLUMNS)
    state = " AND state = 'active'" if active_only else ""
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        scope_sql = " AND scope = ANY(%s)" if scopes is not None else ""
        sql = (f"SELECT {columns} FROM suppressions WHERE tenant_id = %s AND address = ANY(%s)"
               f"{state}{scope_sql}")
        with driver.cursor() as cursor:
            for start in range(0, len(addresses), POSTGRES_BATCH):
                params: list[Any] = [tenant_id, list(addresses[start:start + POSTGRES_BATCH])]
                if scopes is not None:
                    params.append(list(scopes))
                cursor.execute(sql, params, prepare=False)
                yield from cursor.fetchall()
        return
    cursor = driver.cursor()
    try:
        for start in range(0, len(addresses), SQLITE_BATCH):
            batch = list(addresses[start:start + SQLITE_BATCH])
            scope_sql = f" AND scope IN ({','.join('?' * len(scopes))})" if scopes is not None else ""
            sql = (f"SELECT {columns} FROM suppressions WHERE tenant_id = ? AND address IN "
                   f"({','.join('?' * len(batch))}){state}{scope_sql}")
            cursor.execute(sql, [tenant_id, *batch, *(scopes or ())])
            for row in cursor.fetchall():
                yield (*row[:4], _sqlite_time(row[4]), _sqlite_time(row[5]), row[6])
    finally:
        cursor.close()


def _sqlite_time(value: Any) -> datetime | None:
    # Read straight from the driver, SQLite hands back SQLAlchemy's stored text form.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of the same shape."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < 200:
        # COPY's set-up costs more than it saves on a few rows.
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def analyze(conn: Connection, table: Table) -> None:
    """Refresh planner statistics after a bulk load, so lookups use the address index."""
    conn.exec_driver_sql(f"ANALYZE {table.name}")


def insert_ignoring_many(conn: Connection, table: Table, keys: tuple[str, ...],
                         rows: list[dict[str, Any]]) -> list[int | None]:
    """``INSERT … ON CONFLICT (keys) DO NOTHING RETURNING id`` for each row: the new id,
    or None where the row existed. Straight to the driver, because SQLAlchemy cannot
    cache its ON CONFLICT constructs and its per-statement work would dominate:
    PostgreSQL gets the rows in one pipelined round trip; SQLite runs in-process, where
    one statement per row costs microseconds."""
    if not rows:
        return []
    columns = list(rows[0])
    if conn.dialect.name != "postgresql":
        return _sqlite_insert_ignoring(conn, table, keys, columns, rows)
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
           f"ON CONFLICT ({', '.join(keys)}) DO NOTHING RETURNING id")
    driver = conn.connection.driver_connection
    assert driver is not None
    found: list[int | None] = []
    with driver.cursor() as cursor:
        cursor.executemany(sql, rows, returning=True)
        while True:
            row = cursor.fetchone()
            found.append(_id(row[0] if row else None))
            if not cursor.nextset():
                break
    return found


def _sqlite_insert_ignoring(conn: Connection, table: Table, keys: tuple[str, ...], columns: list[str],
                            rows: list[dict[str, Any]]) -> list[int | None]:
    """Straight to sqlite3: in-process, a statement costs microseconds, and SQLAlchemy's
    own per-statement work would be most of it. Values take the forms SQLAlchemy stores."""
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
           f"ON CONFLICT ({', '.join(keys)}) DO NOTHING RETURNING id")
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        found = []
        for row in rows:
            cursor.execute(sql, [_sqlite_value(row[c]) for c in columns])
            new = cursor.fetchone()
            found.append(None if new is None else int(new[0]))
        return found
    finally:
        cursor.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLAlchemy's SQLite DateTime form: always with microseconds, so text compares in order.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _id(value: Any) -> int | None:
    return None if value is None else int(value)
