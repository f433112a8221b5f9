"""A real HTTP server per backend (uvicorn on loopback, in this process so that a
test can stand in for AWS when SNS asks to confirm a subscription)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tests.servers import InThread, serve_in_thread

_servers: dict[str, InThread] = {}


@pytest.fixture
def server(engine: Engine, db_url: str) -> InThread:
    if db_url not in _servers:
        _servers[db_url] = serve_in_thread(engine)
    return _servers[db_url]


@pytest.fixture
def http(server: InThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
