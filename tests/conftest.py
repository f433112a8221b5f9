"""Backends for the suite: every ledger test runs on SQLite and on PostgreSQL.

Each run creates one throwaway PostgreSQL database (dropped at the end) and one
SQLite file; each test gets a fresh tenant in them, which is also how isolation
between tests is kept. The PostgreSQL half is skipped, with a message, only when no
server answers at POSTWARDEN_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.tenants import create_tenant

PG_ADMIN = os.environ.get("POSTWARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_tenant_numbers = itertools.count(1)


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "postwarden.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    name = f"postwarden_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL half skipped: no server answers at {PG_ADMIN} ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_engines: dict[str, Engine] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Engine:
    if db_url not in _engines:
        eng = make_engine(db_url)
        migrate(eng)
        _engines[db_url] = eng
    return _engines[db_url]


@pytest.fixture
def tenant(engine: Engine) -> str:
    name = f"t{next(_tenant_numbers)}-{uuid.uuid4().hex[:6]}"
    create_tenant(engine, name)
    return name


class Clock:
    """A settable clock for policy windows and expiry."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 12, 0, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(engine: Engine, tenant: str, clock: Clock) -> Ledger:
    return Ledger(engine, tenant, settings_mod.load(env={}), clock=clock)


def corpus_dir() -> Path:
    """The shared corpora, configurable by POSTWARDEN_CORPUS."""
    root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("POSTWARDEN_CORPUS", root.parent / "shared" / "corpus"))
