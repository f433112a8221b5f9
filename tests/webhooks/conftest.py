"""A real HTTP server per backend (uvicorn on loopback, in this process so that a
test can stand in for AWS when SNS asks to confirm a subscription). It trusts the
tests' fake SNS (support.fake_sns) for signing certificates."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tests.servers import InThread, serve_in_thread

from .support import sns_settings

_servers: dict[str, InThread] = {}


@pytest.fixture
def server(engine: Engine, db_url: str) -> InThread:
    if db_url not in _servers:
        server = serve_in_thread(engine)
        server.app.state.settings = server.app.state.settings.with_overrides(**sns_settings())
        _servers[db_url] = server
    return _servers[db_url]


@pytest.fixture
def http(server: InThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
