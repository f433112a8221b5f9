"""What the benchmarks share: a database of their own for each run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN = os.environ.get("POSTWARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_postgresql() -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards."""
    name = f"postwarden_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rpartition("/")[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(backend: str, folder: str | Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in ``folder``, or a throwaway PostgreSQL one."""
    if backend == "sqlite":
        path = Path(folder) / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    with throwaway_postgresql() as url:
        yield url
