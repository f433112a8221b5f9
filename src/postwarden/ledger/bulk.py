"""Fast paths for work on many rows at once: looking up a batch of addresses and
inserting many rows. One function each, with the dialect's best tool inside:
PostgreSQL takes an array parameter or a COPY; SQLite takes bounded IN lists and
executemany. Both go straight to the driver, since SQLAlchemy's per-statement
compilation dominates at these sizes."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from psycopg import sql
from sqlalchemy import Boolean, Connection, Date, DateTime, Engine, Float, Integer, LargeBinary, String, Table

SQLITE_BATCH = 900  # under SQLite's bound-parameter limit, with room for the rest
# Up to this many addresses, PostgreSQL gets one array: its planner probes the index
# once per element. From somewhat more it scans the whole table instead (20,000 of
# 1,000,000 took a parallel scan of every row, 250 ms), so larger batches go by COPY
# into a temporary table and are probed one by one (see ``_probe_wanted``).
POSTGRES_ARRAY_UP_TO = 1000
# A large check is shared out over this many connections, each probing its share in a
# server process of its own. On the 2-core machine measured, 100,000 addresses of a
# 1,000,000-row ledger took 0.46-0.50 s on four, 0.51-0.53 s on two and 0.66-0.87 s on
# one (the whole check); a server with more cores gives each share a core.
POSTGRES_CONNECTIONS = 4
# Each share is at least this many addresses: smaller batches take tens of milliseconds
# on one connection, and every share holds a pooled connection meanwhile.
POSTGRES_SHARE_FROM = 20000
LOOKUP_COLUMNS = ("address", "scope", "reason_class", "reason", "created_at", "expires_at", "state")
TIME_COLUMNS = frozenset({"created_at", "updated_at", "expires_at", "lifted_at"})


_pauses = 0
_pauses_lock = threading.Lock()
_collecting_before = True


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a batch makes many objects that
    form no cycles (results, rows): every so many new objects it walks all of them,
    which made a third of a 100,000-address check. Nested and concurrent pauses
    count, so it comes back on when the last ends, as it was before the first."""
    global _pauses, _collecting_before
    with _pauses_lock:
        if _pauses == 0:
            _collecting_before = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collecting_before:
                gc.enable()


def lookup(conn: Connection, tenant_id: int, addresses: Sequence[str],
           scopes: Sequence[str] | None, active_only: bool = True,
           columns: Sequence[str] = LOOKUP_COLUMNS) -> Iterator[tuple[Any, ...]]:
    """Suppression rows (``columns``) of ``addresses``, on ``scopes`` if given."""
    selected = ", ".join(columns)
    state = " AND state = 'active'" if active_only else ""
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cursor:
            if len(addresses) > POSTGRES_ARRAY_UP_TO:
                yield from _probe_wanted(cursor, tenant_id, addresses, scopes, active_only, columns)
                return
            scope_sql = " AND scope = ANY(%s)" if scopes is not None else ""
            cursor.execute(f"SELECT {selected} FROM suppressions WHERE tenant_id = %s AND address = ANY(%s)"
                           f"{state}{scope_sql}",
                           [tenant_id, list(addresses), *([list(scopes)] if scopes is not None else [])],
                           prepare=False)
            yield from cursor.fetchall()
        return
    times = [n for n, c in enumerate(columns) if c in TIME_COLUMNS]
    # Probed in order, the index pages one batch reads are in the page cache for the
    # next: a third less time for 100,000 addresses among 1,000,000 rows.
    ordered = sorted(addresses)
    cursor = driver.cursor()
    try:
        for start in range(0, len(ordered), SQLITE_BATCH):
            batch = ordered[start:start + SQLITE_BATCH]
            scope_sql = f" AND scope IN ({','.join('?' * len(scopes))})" if scopes is not None else ""
            query = (f"SELECT {selected} FROM suppressions WHERE tenant_id = ? AND address IN "
                     f"({','.join('?' * len(batch))}){state}{scope_sql}")
            cursor.execute(query, [tenant_id, *batch, *(scopes or ())])
            for row in cursor.fetchall():
                if times:
                    row = list(row)
                    for n in times:
                        row[n] = _sqlite_time(row[n])
                yield tuple(row)
    finally:
        cursor.close()


def lookup_shared(engine: Engine, tenant_id: int, addresses: Sequence[str],
                  scopes: Sequence[str] | None) -> list[tuple[Any, ...]]:
    """Active ``LOOKUP_COLUMNS`` rows of ``addresses`` as ``lookup`` finds them, a large
    batch on PostgreSQL shared out over ``POSTGRES_CONNECTIONS`` connections at once.
    Each share is read in a transaction of its own: every answer is a committed state."""
    shares = 1
    if engine.dialect.name == "postgresql":
        shares = max(1, min(POSTGRES_CONNECTIONS, len(addresses) // POSTGRES_SHARE_FROM))
    size = -(-len(addresses) // shares)
    parts = [addresses[start:start + size] for start in range(0, len(addresses), size)]

    def read(part: Sequence[str]) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return list(lookup(conn, tenant_id, part, scopes))

    if len(parts) < 2:
        return read(addresses)
    with ThreadPoolExecutor(len(parts) - 1) as pool:
        others = [pool.submit(read, part) for part in parts[1:]]
        rows = read(parts[0])
        for other in others:
            rows += other.result()
    return rows


def _probe_wanted(cursor: Any, tenant_id: int, addresses: Sequence[str], scopes: Sequence[str] | None,
                  active_only: bool, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of ``addresses``: copied into a temporary table, then looked up in the
    index one by one, in byte order (the index's own under the C and C.UTF-8
    collations) so that neighbours share index pages.

    Left to itself the planner hashes the batch and reads every suppression of the
    tenant; probing costs the same per address however large the ledger grows, and
    halved a 100,000-address check of a 1,000,000-row ledger. The planner settings
    are the transaction's own and put back in the same round trip, since the caller's
    transaction may go on (an import's does)."""
    _copy_wanted(cursor, addresses)
    where: sql.Composable = sql.SQL(" AND s.state = 'active'" if active_only else "")
    if scopes is not None:
        where += sql.SQL(" AND s.scope = ANY({})").format(list(scopes))
    cursor.execute(sql.SQL(
        "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off; "
        "SELECT {columns} FROM (SELECT address FROM wanted_addresses ORDER BY address COLLATE \"C\") w "
        "JOIN suppressions s ON s.tenant_id = {tenant} AND s.address = w.address{where}; "
        "SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT; "
        "SET LOCAL jit TO DEFAULT"
    ).format(columns=sql.SQL(", ").join(sql.Identifier("s", c) for c in columns), tenant=tenant_id,
             where=where))
    while cursor.description is None and cursor.nextset():
        pass
    return list(cursor.fetchall())


def _copy_wanted(cursor: Any, addresses: Sequence[str]) -> None:
    """``addresses`` into the transaction's temporary table ``wanted_addresses``, which
    is gone when the transaction ends. One round trip replaces the table an earlier
    lookup in the same transaction left: on a busy machine each one waits its turn."""
    cursor.execute("DROP TABLE IF EXISTS pg_temp.wanted_addresses; "
                   "CREATE TEMP TABLE wanted_addresses (address text NOT NULL) ON COMMIT DROP")
    with cursor.copy("COPY wanted_addresses (address) FROM STDIN") as copy:
        text = "\n".join(addresses)
        if any(c in text for c in "\\\t\r"):
            for address in addresses:  # quoted local parts may hold what COPY's text form escapes
                copy.write_row((address,))
        else:
            copy.write(text + "\n")


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
    with driver.cursor() as cursor, _copy_in(cursor, table, columns) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def insert_tuples(conn: Connection, table: Table, columns: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows given as tuples in ``columns`` order, streamed from an iterable:
    PostgreSQL reads them by COPY while the iterable produces the next, SQLite by
    executemany straight on the driver."""
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        # A writer thread sends the data, so producing rows never waits on the socket
        # while the server catches up: 200,000 rows import 15% faster.
        with driver.cursor() as cursor, _copy_in(cursor, table, columns, queued=True) as copy:
            for row in rows:
                copy.write_row(row)
        return
    names = ", ".join(columns)
    # Only times need converting to SQLite's stored form; the other values go as they are.
    times = [n for n, name in enumerate(columns) if isinstance(table.c[name].type, DateTime)]
    cursor = driver.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})",
                           (_with_sqlite_times(row, times) for row in rows))
    finally:
        cursor.close()


# Each column type's name for COPY's binary form, which takes a fifth of the text
# form's client time per row (200,000 audit entries: 0.12-0.21 s of CPU against 0.62):
# values go as they are held, with nothing to escape or format as text.
_BINARY_TYPES = {Integer: "int4", String: "text", DateTime: "timestamp", Date: "date",
                 Boolean: "bool", Float: "float8", LargeBinary: "bytea"}


@contextmanager
def _copy_in(cursor: Any, table: Table, columns: Sequence[str], queued: bool = False) -> Iterator[Any]:
    """A binary COPY into ``columns`` of ``table``, optionally sent by a writer thread."""
    # Imported here: psycopg takes a sizeable part of a second to load, which a CLI on
    # SQLite should not pay.
    from psycopg.copy import QueuedLibpqWriter

    types = [_binary_type(table.c[name].type) for name in columns]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)",
                     writer=QueuedLibpqWriter(cursor) if queued else None) as copy:
        copy.set_types(types)
        yield copy


def _binary_type(column_type: Any) -> str:
    for kind, name in _BINARY_TYPES.items():
        if isinstance(column_type, kind):  # Text is a String
            return name
    raise TypeError(f"no binary COPY type for {column_type!r}: add it to _BINARY_TYPES")


def _with_sqlite_times(row: Sequence[Any], times: list[int]) -> Sequence[Any]:
    row = list(row)
    for n in times:
        row[n] = _sqlite_value(row[n])
    return row


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
        # isoformat gives the same text as the strftime in a third of the time, for naive
        # times of four-digit years (strftime does not pad the year).
        if value.tzinfo is None and value.year >= 1000:
            return value.isoformat(" ", "microseconds")
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _id(value: Any) -> int | None:
    return None if value is None else int(value)
