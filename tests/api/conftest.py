"""A real postwarden HTTP server on loopback, per backend, and an httpx client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from postwarden.ledger.tenants import create_api_key
from tests.servers import serve_in_thread

_servers: dict[str, str] = {}


@pytest.fixture
def base_url(engine: Engine, db_url: str) -> str:
    if db_url not in _servers:
        _servers[db_url] = serve_in_thread(engine).url
    return _servers[db_url]


@pytest.fixture
def api(base_url: str, engine: Engine, tenant: str) -> Iterator[httpx.Client]:
    key = create_api_key(engine, tenant, "test")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        yield client
